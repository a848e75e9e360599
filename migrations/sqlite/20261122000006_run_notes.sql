-- Notes people leave on pipeline runs ("examined: the drop in recall is the new tower firmware").
CREATE TABLE run_notes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_run_id INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    author          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE INDEX run_notes_run ON run_notes (pipeline_run_id, id);
-- Kept with the run, so that History shows and filters by it without a join per row.
ALTER TABLE pipeline_runs ADD COLUMN note_count INTEGER NOT NULL DEFAULT 0;
