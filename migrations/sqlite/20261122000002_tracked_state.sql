-- What the tracker reads from the workspace, kept so that pages never read the workspace.
-- A stage's log tail (the last 16 KiB), read on each change of its job run and while it runs;
-- log_final once read after the job run ended.
ALTER TABLE stage_runs ADD COLUMN log_path TEXT;
ALTER TABLE stage_runs ADD COLUMN log_tail TEXT;
ALTER TABLE stage_runs ADD COLUMN log_final INTEGER NOT NULL DEFAULT 0;
-- What the run's lineage shows beyond its ids (experiment run data, names, build state), as JSON,
-- read once when the run ended.
ALTER TABLE pipeline_runs ADD COLUMN lineage_detail TEXT;
CREATE INDEX pipeline_runs_deployment ON pipeline_runs (deployment_status) WHERE deployment_id IS NOT NULL;
