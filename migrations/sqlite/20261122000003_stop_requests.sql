-- A stop asked for a pipeline run: it holds for whichever stage is active then or starts after
-- (a dependent that the workspace starts while the stop is in flight is stopped at once).
ALTER TABLE pipeline_runs ADD COLUMN stop_requested_at TEXT;
ALTER TABLE pipeline_runs ADD COLUMN stop_requested_by TEXT;
