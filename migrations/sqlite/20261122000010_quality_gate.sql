-- The redeployment's quality gate for the run's model (domain::QualityGate as JSON), as read from
-- the tags the redeployment put on the retrain's MLflow run. NULL: not gated (yet).
ALTER TABLE pipeline_runs ADD COLUMN quality_gate TEXT;
