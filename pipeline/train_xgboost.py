"""Retrain XGBoost: trains on exactly the rows the table's latest snapshot added and logs one
MLflow run with the model and the snapshot it came from.

It reads the latest snapshot and its parent and scans only the rows between them
(parent, latest] — the first snapshot is read whole. When Lakeline gives a range (a retry
reads the range its first attempt read, never a newer batch), the environment's
ICEBERG_SNAPSHOT_ID (the range's end) and ICEBERG_PARENT_ID (its start, exclusive; empty for
a table's first snapshot) win over the latest snapshot. The MLflow run (experiment
xgb-telco-<user>) carries accuracy and recall as metrics (and as params, like the lab), the model
(artifact path "artifacts", JSON format) and the tags iceberg_snapshot_id, iceberg_parent_id,
iceberg_snapshot_committed_at (ISO 8601), row_count (an integer) and cml_job_run_id (the job run
that logged it, by which the redeployment finds it).
"""

import datetime

import mlflow
import mlflow.xgboost
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.metrics import accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from pipeline_common import fail, local_catalog, log, owner_suffix, run_id, setting, spark_session, start_logging, table_name, write_summary

FEATURES = ["iot_signal_1", "iot_signal_2", "iot_signal_3", "iot_signal_4"]
LABEL = "cell_tower_failure"


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


def read_batch_with_pyiceberg(catalog, name):
    table = catalog.load_table(name)
    given = given_range()
    if given:
        latest = table.snapshot_by_id(given[0])
        if latest is None:
            fail(f"table {name} has no snapshot {given[0]} (ICEBERG_SNAPSHOT_ID)")
        parent = given[1]
        log.info("reading the range Lakeline gave: snapshots %s → %s", parent or "(table start)", latest.snapshot_id)
    else:
        latest = table.current_snapshot()
        if latest is None:
            fail(f"table {name} has no snapshot yet: run New Batch first")
        parent = latest.parent_snapshot_id
    if parent is None:
        scan = table.scan(snapshot_id=latest.snapshot_id)
    else:
        scan = table.incremental_append_scan(from_snapshot_id_exclusive=parent, to_snapshot_id_inclusive=latest.snapshot_id)
    frame = scan.to_arrow().to_pandas()
    committed = datetime.datetime.fromtimestamp(latest.timestamp_ms / 1000, datetime.timezone.utc)
    return frame, latest.snapshot_id, parent, committed


def read_batch_with_spark(name):
    spark = spark_session("Retrain XGBoost")
    given = given_range()
    if given:
        rows = spark.sql(f"SELECT * FROM {name}.snapshots WHERE snapshot_id = {given[0]}").collect()
        if not rows:
            fail(f"table {name} has no snapshot {given[0]} (ICEBERG_SNAPSHOT_ID)")
        latest, parent = rows[0], given[1]
        log.info("reading the range Lakeline gave: snapshots %s → %s", parent or "(table start)", latest["snapshot_id"])
    else:
        latest = spark.sql(f"SELECT * FROM {name}.snapshots ORDER BY committed_at DESC LIMIT 1").collect()[0]
        parent = latest["parent_id"]
    reader = spark.read.format("iceberg")
    if parent is not None:
        reader = reader.option("start-snapshot-id", parent).option("end-snapshot-id", latest["snapshot_id"])
    else:
        reader = reader.option("snapshot-id", latest["snapshot_id"])
    frame = reader.load(name).toPandas()
    return frame, latest["snapshot_id"], parent, latest["committed_at"].astimezone(datetime.timezone.utc)


def fit(frame):
    """Trains on 70 % of the rows and measures on the rest (stratified, a fixed split): the
    model, its accuracy and recall on the held-out rows, and those rows' features."""
    x, y = frame[FEATURES].astype("int64"), frame[LABEL].astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=42, stratify=y)
    model = XGBClassifier(n_estimators=50, max_depth=4, n_jobs=1, eval_metric="logloss")
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    accuracy = float(accuracy_score(y_test, predicted))
    recall = float(recall_score(y_test, predicted, zero_division=0))
    return model, accuracy, recall, x_test


def main():
    start_logging("train_xgboost")
    name = table_name()
    catalog = local_catalog()
    frame, snapshot_id, parent_id, committed_at = (
        read_batch_with_pyiceberg(catalog, name) if catalog else read_batch_with_spark(name)
    )
    rows = int(len(frame))
    log.info("read %d rows of snapshot %s (parent %s) from %s", rows, snapshot_id, parent_id, name)
    if rows < 10 or frame[LABEL].nunique() < 2:
        fail(f"snapshot {snapshot_id} added {rows} rows with {frame[LABEL].nunique()} classes: too few to train on")

    model, accuracy, recall, x_test = fit(frame)
    log.info("accuracy %.4f recall %.4f", accuracy, recall)

    experiment = setting("EXPERIMENT_NAME", f"xgb-telco-{owner_suffix()}")
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"retrain-{snapshot_id}") as run:
        mlflow.log_metrics({"accuracy": accuracy, "recall": recall})
        mlflow.log_params({"accuracy": accuracy, "recall": recall, "n_estimators": 50, "max_depth": 4})
        mlflow.set_tags(
            {
                "iceberg_snapshot_id": str(snapshot_id),
                "iceberg_parent_id": "" if parent_id is None else str(parent_id),
                "iceberg_snapshot_committed_at": committed_at.isoformat(),
                "row_count": str(rows),
                # The job run that logged it: the redeployment finds this run by it.
                "cml_job_run_id": run_id(),
            }
        )
        example = x_test.head(5)
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
            "rows": rows,
            "accuracy": accuracy,
            "recall": recall,
        },
    )


if __name__ == "__main__":
    main()
