-- Webhooks that hear about pipeline runs ending, and their deliveries: queued here, retried with
-- backoff by the alerts task, never by the tracker.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    -- May hold a secret (Slack's URLs do): shown to admins only, never logged.
    url        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    -- Comma-separated alert events: failed, stopped, timedout, succeeded.
    events     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    removed_at TEXT
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    pipeline_run_id INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    -- pending, delivered or failed (gave up).
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    delivered_at    TEXT,
    UNIQUE (webhook_id, pipeline_run_id, event)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);

-- Whether the run's ending was queued for the webhooks (runs that ended before alerts existed
-- are not announced now).
ALTER TABLE pipeline_runs ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
UPDATE pipeline_runs SET alerted = 1 WHERE status != 'running';

-- Until when each person has seen failures (the banner shows those after).
ALTER TABLE users ADD COLUMN failures_seen_at TEXT;
