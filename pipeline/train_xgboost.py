"""Retrain XGBoost: trains on every row added since the last snapshot a successful retrain
trained on, and logs one MLflow run with the model and the range it came from.

It reads from the newest snapshot back to the last one a finished run of the experiment is
tagged with (exclusive) — one batch when every retrain succeeded, several when one failed, so no
batch is ever skipped; the first retrain reads the whole table. When Lakeline gives a range (a
retry reads its own run's batch, never a newer one), the environment's ICEBERG_SNAPSHOT_ID (the
range's end) and ICEBERG_PARENT_ID (its start, exclusive; empty for a table's first snapshot)
win.

The MLflow run (experiment xgb-telco-<user>) carries accuracy and recall as metrics (and as
params, like the lab), the model (artifact path "artifacts", JSON format) and the tags
iceberg_snapshot_id and iceberg_parent_id (the range's end and start), iceberg_snapshot_committed_at (ISO 8601), row_count and
snapshot_count (integers), and cml_job_run_id (the job run that logged it, by which the
redeployment finds it). The held-out rows the model was measured on (features and label) are kept
with the run as the artifact holdout/holdout.csv: the redeployment's quality gate measures the live
model on the same rows.
"""

import datetime
import os
import tempfile

import mlflow
import mlflow.xgboost
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.metrics import accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from pipeline_common import (
    FEATURES,
    LABEL,
    fail,
    local_catalog,
    log,
    owner_suffix,
    run_id,
    setting,
    spark_session,
    start_logging,
    table_name,
    trained_snapshots,
    write_summary,
)



def given_range():
    """The (snapshot id, parent id or None) Lakeline asked for, or None to read the latest."""
    snapshot = setting("ICEBERG_SNAPSHOT_ID", "")
    if not snapshot:
        return None
    parent = setting("ICEBERG_PARENT_ID", "")
    try:
        return int(snapshot), int(parent) if parent else None
    except ValueError:
        fail(f"ICEBERG_SNAPSHOT_ID={snapshot!r} and ICEBERG_PARENT_ID={parent!r} must be snapshot ids (integers)")


def choose_range(parents, current, trained, given):
    """The snapshots to read, (start, end], and how many there are. `parents` maps each snapshot
    id to its parent's (None for the first). Lakeline's range wins; else from the newest snapshot
    back to the last one a successful retrain trained on, so that no batch is ever skipped (the
    first retrain reads the whole table; a rerun with nothing new retrains on the newest batch)."""
    if given:
        end, start = given
        if end not in parents:
            fail(f"the table has no snapshot {end} (ICEBERG_SNAPSHOT_ID)")
        log.info("reading the range Lakeline gave: snapshots %s → %s", start or "(table start)", end)
    else:
        end, start = current, None
        walk = current
        while walk is not None:
            if str(walk) in trained:
                start = walk
                break
            walk = parents.get(walk)
        if start == end:
            start = parents.get(end)
    count, walk = 0, end
    while walk is not None and walk != start:
        count += 1
        walk = parents.get(walk)
    return end, start, count


def read_batch_with_pyiceberg(catalog, name, trained):
    table = catalog.load_table(name)
    current = table.current_snapshot()
    if current is None:
        fail(f"table {name} has no snapshot yet: run New Batch first")
    parents = {s.snapshot_id: s.parent_snapshot_id for s in table.snapshots()}
    end, start, count = choose_range(parents, current.snapshot_id, trained, given_range())
    if start is None:
        scan = table.scan(snapshot_id=end)
    else:
        scan = table.incremental_append_scan(from_snapshot_id_exclusive=start, to_snapshot_id_inclusive=end)
    frame = scan.to_arrow().to_pandas()
    committed = datetime.datetime.fromtimestamp(table.snapshot_by_id(end).timestamp_ms / 1000, datetime.timezone.utc)
    return frame, end, start, count, committed


def read_batch_with_spark(name, trained):
    spark = spark_session("Retrain XGBoost")
    snapshots = spark.sql(f"SELECT snapshot_id, parent_id, committed_at FROM {name}.snapshots ORDER BY committed_at").collect()
    if not snapshots:
        fail(f"table {name} has no snapshot yet: run New Batch first")
    parents = {r["snapshot_id"]: r["parent_id"] for r in snapshots}
    end, start, count = choose_range(parents, snapshots[-1]["snapshot_id"], trained, given_range())
    reader = spark.read.format("iceberg")
    if start is not None:
        reader = reader.option("start-snapshot-id", start).option("end-snapshot-id", end)
    else:
        reader = reader.option("snapshot-id", end)
    frame = reader.load(name).toPandas()
    committed = next(r["committed_at"] for r in snapshots if r["snapshot_id"] == end)
    return frame, end, start, count, committed.astimezone(datetime.timezone.utc)


def fit(frame):
    """Trains on 70 % of the rows and measures on the rest (stratified, a fixed split): the
    model, its accuracy and recall on the held-out rows, and those rows (features and label)."""
    x, y = frame[FEATURES].astype("int64"), frame[LABEL].astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=42, stratify=y)
    model = XGBClassifier(n_estimators=50, max_depth=4, n_jobs=1, eval_metric="logloss")
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    accuracy = float(accuracy_score(y_test, predicted))
    recall = float(recall_score(y_test, predicted, zero_division=0))
    return model, accuracy, recall, x_test.assign(**{LABEL: y_test})


def main():
    start_logging("train_xgboost")
    name = table_name()
    experiment = setting("EXPERIMENT_NAME", f"xgb-telco-{owner_suffix()}")
    trained = trained_snapshots(experiment)
    catalog = local_catalog()
    frame, snapshot_id, parent_id, snapshot_count, committed_at = (
        read_batch_with_pyiceberg(catalog, name, trained) if catalog else read_batch_with_spark(name, trained)
    )
    rows = int(len(frame))
    log.info("read %d rows of snapshot %s (parent %s; %d snapshot(s)) from %s", rows, snapshot_id, parent_id, snapshot_count, name)
    if rows < 10 or frame[LABEL].nunique() < 2:
        fail(f"snapshots {parent_id} → {snapshot_id} added {rows} rows with {frame[LABEL].nunique()} classes: too few to train on")

    model, accuracy, recall, holdout = fit(frame)
    log.info("accuracy %.4f recall %.4f", accuracy, recall)

    # The experiment's id, passed on explicitly: when two retrains create the experiment at once,
    # mlflow.set_experiment returns it to the one that lost the race without making it active, and
    # start_run would then log to experiment 0.
    experiment_id = mlflow.set_experiment(experiment).experiment_id
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"retrain-{snapshot_id}") as run:
        mlflow.log_metrics({"accuracy": accuracy, "recall": recall})
        mlflow.log_params({"accuracy": accuracy, "recall": recall, "n_estimators": 50, "max_depth": 4})
        mlflow.set_tags(
            {
                "iceberg_snapshot_id": str(snapshot_id),
                "iceberg_parent_id": "" if parent_id is None else str(parent_id),
                "iceberg_snapshot_committed_at": committed_at.isoformat(),
                "row_count": str(rows),
                "snapshot_count": str(snapshot_count),
                # The job run that logged it: the redeployment finds this run by it.
                "cml_job_run_id": run_id(),
            }
        )
        with tempfile.TemporaryDirectory() as kept:
            path = os.path.join(kept, "holdout.csv")
            holdout.to_csv(path, index=False)
            mlflow.log_artifact(path, artifact_path="holdout")
        example = holdout[FEATURES].head(5)
        mlflow.xgboost.log_model(
            model,
            name="artifacts",
            model_format="json",
            signature=infer_signature(example, model.predict_proba(example)[:, 1]),
            input_example=example,
            pip_requirements=["xgboost-cpu", "pandas", "numpy", "scikit-learn"],
        )
        mlflow_run_id = run.info.run_id
    log.info("logged MLflow run %s in experiment %s", mlflow_run_id, experiment)
    write_summary(
        "train_xgboost",
        {
            "experiment": experiment,
            "run_id": mlflow_run_id,
            "snapshot_id": snapshot_id,
            "parent_id": parent_id,
            "snapshot_count": snapshot_count,
            "rows": rows,
            "accuracy": accuracy,
            "recall": recall,
        },
    )


if __name__ == "__main__":
    main()
