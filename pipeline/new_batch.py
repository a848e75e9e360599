"""New Batch: generates a batch of synthetic cell-tower rows and appends it to the Iceberg table.

Every append is one Iceberg snapshot whose parent is the previous one. The table (and its
namespace) is created on the first run. A JSON summary of the snapshot goes to
logs/new_batch/<run id>.json in the project.

Settings (environment): DBNAME (default "default"), PIPELINE_USER (default PROJECT_OWNER),
BATCH_ROWS (default 1440), BATCH_SEED (optional). The argument `--seed N` wins over BATCH_SEED.
With a seed the batch is reproducible, row ids included; without one (production) it is random.
"""

import argparse
import datetime
import uuid

import numpy as np
import pandas as pd

from pipeline_common import fail, local_catalog, log, setting, spark_session, start_logging, table_name, write_summary

MANUFACTURERS = ["TelecomWorld", "New World Telecom", "AnyCom"]
EVENT_TYPES = ["system malfunction", "battery failure", "signal loss", "hardware failure"]


def generate(rows, seed=None):
    """The lab's columns and distributions; cell_tower_failure is 1 for about one row in ten.
    Every value, the row ids too, comes from one generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(rows)]
    signal_1 = rng.integers(1, 11, rows)
    return pd.DataFrame(
        {
            "id": ids,
            "device_id": [f"0x{v:06x}" for v in rng.integers(0x100000, 0xFFFFFF, rows)],
            "manufacturer": rng.choice(MANUFACTURERS, rows),
            "event_type": rng.choice(EVENT_TYPES, rows),
            "longitude": rng.uniform(-180.0, 180.0, rows).round(6),
            "latitude": rng.uniform(-90.0, 90.0, rows).round(6),
            "iot_signal_1": signal_1.astype("int64"),
            "iot_signal_2": (signal_1 + rng.integers(0, 3, rows)).astype("int64"),
            "iot_signal_3": rng.integers(50, 56, rows).astype("int64"),
            "iot_signal_4": rng.integers(100, 108, rows).astype("int64"),
            "cell_tower_failure": (rng.random(rows) < 0.1).astype("int64"),
        }
    )


def append_with_pyiceberg(catalog, name, frame):
    import pyarrow as pa

    namespace = name.split(".")[0]
    catalog.create_namespace_if_not_exists(namespace)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    table = catalog.create_table_if_not_exists(name, schema=arrow.schema)
    table.append(arrow)
    snapshot = table.current_snapshot()
    return {
        "snapshot_id": snapshot.snapshot_id,
        "parent_id": snapshot.parent_snapshot_id,
        "committed_at": datetime.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, datetime.timezone.utc).isoformat(),
        "rows_added": int(snapshot.summary["added-records"]),
        "total_rows": int(snapshot.summary["total-records"]),
    }


def append_with_spark(name, frame):
    spark = spark_session("New Batch")
    df = spark.createDataFrame(frame)
    if spark.catalog.tableExists(name):
        df.writeTo(name).append()
    else:
        df.writeTo(name).using("iceberg").tableProperty("write.format.default", "parquet").create()
    latest = spark.sql(f"SELECT * FROM {name}.snapshots ORDER BY committed_at DESC LIMIT 1").collect()[0]
    summary = latest["summary"]
    return {
        "snapshot_id": latest["snapshot_id"],
        "parent_id": latest["parent_id"],
        "committed_at": latest["committed_at"].astimezone(datetime.timezone.utc).isoformat(),
        "rows_added": int(summary["added-records"]),
        "total_rows": int(summary["total-records"]),
    }


def seed_setting(argv=None):
    """The batch's seed: `--seed N`, else BATCH_SEED, else None (a random batch)."""
    parser = argparse.ArgumentParser(prog="new_batch.py")
    parser.add_argument("--seed", type=int, help="seed for a reproducible batch")
    args, _ = parser.parse_known_args(argv)
    if args.seed is not None:
        return args.seed
    text = setting("BATCH_SEED", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        fail(f"BATCH_SEED must be an integer, not {text!r}")


def main():
    start_logging("new_batch")
    rows = int(setting("BATCH_ROWS", "1440"))
    seed = seed_setting()
    name = table_name()
    frame = generate(rows, seed)
    log.info("generated %d rows (%d failures, seed %s) for %s", len(frame), int(frame.cell_tower_failure.sum()), seed, name)
    catalog = local_catalog()
    snapshot = append_with_pyiceberg(catalog, name, frame) if catalog else append_with_spark(name, frame)
    snapshot["table"] = name
    snapshot["seed"] = seed
    snapshot["failures"] = int(frame.cell_tower_failure.sum())
    log.info("appended snapshot %s (parent %s)", snapshot["snapshot_id"], snapshot["parent_id"])
    write_summary("new_batch", snapshot)


if __name__ == "__main__":
    main()
