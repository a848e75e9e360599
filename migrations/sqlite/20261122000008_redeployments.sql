-- When a run's model was last deployed: its own chain's deployment (NULL: when the run was
-- created), or a later "Deploy this model" (a rollback). The newest deployment is the live one.
ALTER TABLE pipeline_runs ADD COLUMN deployed_at TEXT;
