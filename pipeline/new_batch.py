"""New Batch: generates a batch of synthetic cell-tower rows and appends it to the Iceberg table.

Every append is one Iceberg snapshot whose parent is the previous one. The table (and its
namespace) is created on the first run. A JSON summary of the snapshot goes to
logs/new_batch/<run id>.json in the project.

Settings (environment): DBNAME (default "default"), PIPELINE_USER (default PROJECT_OWNER),
BATCH_ROWS (default 1440), BATCH_SEED (optional). The argument `--seed N` wins over BATCH_SEED.
With a seed the batch is reproducible, row ids included; without one (production) it is random.
Failures follow the signals (the formula is below); `--failure-rate R` and `--signal-shift K` make
a drifted batch.

The summary also carries the batch's figures (`figures`): its failure rate, each signal's mean,
and its drift against the rows trained on before — the table as of the newest snapshot a
successful retrain trained on (the iceberg_snapshot_id tags of the experiment's finished runs) —
as a population stability index per signal (none before the first successful retrain).
"""

import argparse
import datetime
import uuid

import numpy as np
import pandas as pd

from pipeline_common import FEATURES as SIGNALS
from pipeline_common import fail, local_catalog, log, owner_suffix, setting, spark_session, start_logging, table_name, trained_snapshots, write_summary

MANUFACTURERS = ["TelecomWorld", "New World Telecom", "AnyCom"]
EVENT_TYPES = ["system malfunction", "battery failure", "signal loss", "hardware failure"]


# Whether a tower fails depends on its signals (the lab drew failures at random, so no model
# could learn them):
#
#     logit P(failure) = b0 + 2.5 (iot_signal_1 - 5.5) + 2.0 (iot_signal_3 - 52.5)
#
# so the odds of failure multiply by e^2.5 ≈ 12 with each step of iot_signal_1 and by
# e^2 ≈ 7.4 with each step of iot_signal_3. b0 is chosen so that, over the signals' nominal
# ranges (iot_signal_1 uniform on 1..10, iot_signal_3 on 50..55), the failure rate is the one
# asked for: 1 in 10 by default (b0 ≈ -10.9).
SLOPE_1 = 2.5
SLOPE_3 = 2.0


def intercept(failure_rate):
    """The b0 that gives `failure_rate` over the signals' nominal ranges (bisection)."""
    if not 0.0 < failure_rate < 1.0:
        fail(f"the failure rate must be between 0 and 1, not {failure_rate}")
    s1, s3 = np.meshgrid(np.arange(1, 11), np.arange(50, 56))
    low, high = -40.0, 40.0
    for _ in range(80):
        middle = (low + high) / 2
        rate = (1 / (1 + np.exp(-(middle + SLOPE_1 * (s1 - 5.5) + SLOPE_3 * (s3 - 52.5))))).mean()
        low, high = (low, middle) if rate > failure_rate else (middle, high)
    return (low + high) / 2


def generate(rows, seed=None, failure_rate=0.1, signal_shift=0):
    """The lab's columns and ranges; cell_tower_failure follows the signals (see above), failing
    about `failure_rate` of the towers. A drifted batch: `signal_shift` moves iot_signal_1's draws
    up (or down), kept within 1..10, and `failure_rate` changes the base rate. Every value, the row
    ids too, comes from one generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(rows)]
    signal_1 = np.clip(rng.integers(1, 11, rows) + signal_shift, 1, 10)
    signal_3 = rng.integers(50, 56, rows)
    logit = intercept(failure_rate) + SLOPE_1 * (signal_1 - 5.5) + SLOPE_3 * (signal_3 - 52.5)
    failure = rng.random(rows) < 1 / (1 + np.exp(-logit))
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
            "iot_signal_3": signal_3.astype("int64"),
            "iot_signal_4": rng.integers(100, 108, rows).astype("int64"),
            "cell_tower_failure": failure.astype("int64"),
        }
    )


def psi(reference, batch):
    """Population stability index of one integer signal: sum over its values of
    (p_batch - p_reference) * ln(p_batch / p_reference), each share floored at 1e-4 so that a value
    one side never saw counts without dividing by zero. Above 0.2 is a marked shift."""
    values = sorted(set(reference) | set(batch))
    ref = pd.Series(reference).value_counts(normalize=True).reindex(values, fill_value=0).clip(lower=1e-4)
    new = pd.Series(batch).value_counts(normalize=True).reindex(values, fill_value=0).clip(lower=1e-4)
    return float(((new - ref) * np.log(new / ref)).sum())


def figures(frame, reference, reference_snapshot):
    """What the Data page shows of a batch: failure rate, signal means, drift against `reference`
    (the rows trained on before; None before any successful retrain)."""
    return {
        "rows": int(len(frame)),
        "failure_rate": float(frame.cell_tower_failure.mean()) if len(frame) else None,
        "means": {s: float(frame[s].mean()) for s in SIGNALS},
        "psi": None if reference is None else {s: psi(reference[s], frame[s]) for s in SIGNALS},
        "reference_snapshot_id": reference_snapshot,
        "reference_rows": None if reference is None else int(len(reference)),
    }


def trained_reference_snapshot(parents, current):
    """The newest snapshot, from `current` back through its parents, that a successful retrain
    trained up to; None when none did (or the experiment cannot be read)."""
    try:
        trained = trained_snapshots(setting("EXPERIMENT_NAME", f"xgb-telco-{owner_suffix()}"))
    except Exception as e:  # no tracking server for this job: no drift figure, the batch still lands
        log.warning("could not read which snapshots were trained on (%s): no drift figure", e)
        return None
    walk = current
    while walk is not None:
        if str(walk) in trained:
            return walk
        walk = parents.get(walk)
    return None


def reference_with_pyiceberg(catalog, name):
    """(rows trained on before, their snapshot) from the table as it is before this append."""
    if not catalog.table_exists(name):
        return None, None
    table = catalog.load_table(name)
    current = table.current_snapshot()
    if current is None:
        return None, None
    snapshot = trained_reference_snapshot({s.snapshot_id: s.parent_snapshot_id for s in table.snapshots()}, current.snapshot_id)
    if snapshot is None:
        return None, None
    return table.scan(snapshot_id=snapshot, selected_fields=tuple(SIGNALS)).to_arrow().to_pandas(), snapshot


def reference_with_spark(name):
    spark = spark_session("New Batch")
    if not spark.catalog.tableExists(name):
        return None, None
    snapshots = spark.sql(f"SELECT snapshot_id, parent_id FROM {name}.snapshots ORDER BY committed_at").collect()
    if not snapshots:
        return None, None
    snapshot = trained_reference_snapshot({r["snapshot_id"]: r["parent_id"] for r in snapshots}, snapshots[-1]["snapshot_id"])
    if snapshot is None:
        return None, None
    return spark.read.option("snapshot-id", snapshot).table(name).select(*SIGNALS).toPandas(), snapshot


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


def batch_settings(argv=None):
    """The batch's seed (`--seed N`, else BATCH_SEED, else None: a random batch) and drift
    (`--failure-rate R`, default 0.1; `--signal-shift K`, default 0)."""
    parser = argparse.ArgumentParser(prog="new_batch.py")
    parser.add_argument("--seed", type=int, help="seed for a reproducible batch")
    parser.add_argument("--failure-rate", type=float, default=0.1, help="the share of failing towers (a drifted batch)")
    parser.add_argument("--signal-shift", type=int, default=0, help="moves iot_signal_1's draws (a drifted batch)")
    args, _ = parser.parse_known_args(argv)
    seed = args.seed
    if seed is None:
        text = setting("BATCH_SEED", "")
        if text:
            try:
                seed = int(text)
            except ValueError:
                fail(f"BATCH_SEED must be an integer, not {text!r}")
    return seed, args.failure_rate, args.signal_shift


def main():
    start_logging("new_batch")
    rows = int(setting("BATCH_ROWS", "1440"))
    seed, failure_rate, signal_shift = batch_settings()
    name = table_name()
    frame = generate(rows, seed, failure_rate, signal_shift)
    log.info(
        "generated %d rows (%d failures, seed %s, failure rate %s, signal shift %s) for %s",
        len(frame), int(frame.cell_tower_failure.sum()), seed, failure_rate, signal_shift, name,
    )
    catalog = local_catalog()
    reference, reference_snapshot = reference_with_pyiceberg(catalog, name) if catalog else reference_with_spark(name)
    batch_figures = figures(frame, reference, reference_snapshot)
    snapshot = append_with_pyiceberg(catalog, name, frame) if catalog else append_with_spark(name, frame)
    snapshot["table"] = name
    snapshot["seed"] = seed
    snapshot["failures"] = int(frame.cell_tower_failure.sum())
    snapshot["failure_rate"] = failure_rate
    snapshot["signal_shift"] = signal_shift
    snapshot["figures"] = batch_figures
    if batch_figures["psi"] is not None:
        log.info("drift against snapshot %s (%d rows trained on): PSI %s", reference_snapshot, batch_figures["reference_rows"],
                 ", ".join(f"{s} {v:.3f}" for s, v in batch_figures["psi"].items()))
    log.info("appended snapshot %s (parent %s)", snapshot["snapshot_id"], snapshot["parent_id"])
    write_summary("new_batch", snapshot)


if __name__ == "__main__":
    main()
