-- The Data page's figures of the batch a run's New Batch committed (domain::BatchFigures as JSON,
-- from its summary), and the snapshot range the run's retrain read (from its MLflow run's tags:
-- after trained_from, exclusive and NULL for the table's start, up to trained_to).
ALTER TABLE pipeline_runs ADD COLUMN batch_figures TEXT;
ALTER TABLE pipeline_runs ADD COLUMN trained_from TEXT;
ALTER TABLE pipeline_runs ADD COLUMN trained_to TEXT;
