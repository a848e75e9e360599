-- History's queries answered from indexes, measured with 10,000 runs (bench/http_load.py):
-- pages are ordered and sought by (created_at, id), so both belong in the index (the old one
-- sorted the id part in a temporary B-tree on every page); the unseen-failures badge on every
-- page looked up each failed run's row to test finished_at; the snapshot filter's parent
-- snapshot, the who filter and "with notes" scanned the table; and the tracker's pass (every
-- second) looked through every run for the few whose alerts are still to be sent.
DROP INDEX pipeline_runs_created;
CREATE INDEX pipeline_runs_created ON pipeline_runs (created_at, id);
DROP INDEX pipeline_runs_status;
CREATE INDEX pipeline_runs_status ON pipeline_runs (status, created_at, id);
CREATE INDEX pipeline_runs_finished ON pipeline_runs (status, finished_at);
CREATE INDEX pipeline_runs_parent_snapshot ON pipeline_runs (parent_snapshot_id);
CREATE INDEX pipeline_runs_triggered_by ON pipeline_runs (triggered_by);
CREATE INDEX pipeline_runs_noted ON pipeline_runs (created_at, id) WHERE note_count > 0;
CREATE INDEX pipeline_runs_unalerted ON pipeline_runs (id) WHERE NOT alerted;
