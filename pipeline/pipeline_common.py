"""Shared helpers for the three pipeline jobs: settings, logging to the project, API v2 calls and
Iceberg access. Runs unchanged in a real CML workspace and in Lakeline's local workspace."""

import json
import logging
import os
import sys
import time
from pathlib import Path

import requests

log = logging.getLogger("pipeline")


def setting(name, default):
    value = os.environ.get(name, "").strip()
    return value if value else default


def owner_suffix():
    """The per-user suffix of table, experiment and model names (the lab's "Paul")."""
    return setting("PIPELINE_USER", setting("PROJECT_OWNER", "user")).replace("-", "_")


def run_id():
    """This job run's id (CML runs every job run in an engine)."""
    return setting("CDSW_ENGINE_ID", time.strftime("manual-%Y%m%dT%H%M%S"))


def start_logging(job):
    """Logs to stdout and to logs/<job>/<run id>.log in the project, so that the log can be read
    through API v2's project files endpoints on any workspace."""
    log_dir = Path("logs") / job
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    handlers = [logging.StreamHandler(sys.stdout), logging.FileHandler(log_dir / f"{run_id()}.log")]
    for handler in handlers:
        handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True)
    return log_dir


def write_summary(job, summary):
    path = Path("logs") / job / f"{run_id()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))
    log.info("summary written to %s: %s", path, json.dumps(summary, sort_keys=True))


def fail(message):
    log.error(message)
    sys.exit(1)


# The table's columns a model reads --------------------------------------------------------------

FEATURES = ["iot_signal_1", "iot_signal_2", "iot_signal_3", "iot_signal_4"]
LABEL = "cell_tower_failure"


def trained_snapshots(experiment):
    """The snapshots successful retrains trained up to: the iceberg_snapshot_id tags of the
    experiment's finished runs."""
    import mlflow

    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return set()
    runs = mlflow.search_runs([found.experiment_id], "attributes.status = 'FINISHED'", max_results=50_000, output_format="list")
    return {r.data.tags.get("iceberg_snapshot_id") for r in runs} - {None, ""}


# Iceberg ---------------------------------------------------------------------------------------

def table_name():
    return f"{setting('DBNAME', 'default')}.TELCO_CELL_TOWERS_{owner_suffix()}"


def local_catalog():
    """pyiceberg's SQL catalog (SQLite) in the local workspace's data directory, or None when
    Lakeline's local workspace did not provide one (then Spark is used, as in CML)."""
    warehouse = setting("LAKELINE_ICEBERG_WAREHOUSE", "")
    if not warehouse:
        return None
    from pyiceberg.catalog.sql import SqlCatalog

    Path(warehouse).mkdir(parents=True, exist_ok=True)
    return SqlCatalog(
        "lakeline",
        uri=f"sqlite:///{warehouse}/catalog.db",
        warehouse=f"file://{warehouse}",
    )


def spark_session(app_name):
    """The Spark session CML provides, with the Iceberg runtime of its Spark add-on."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    storage = setting("STORAGE", "")
    if storage:
        builder = builder.config("spark.kerberos.access.hadoopFileSystems", storage)
    return builder.getOrCreate()


# API v2 ----------------------------------------------------------------------------------------

class ApiV2:
    """Plain HTTP calls to CML API v2 with CDSW_APIV2_KEY (no unpublished client package)."""

    def __init__(self):
        base = setting("CDSW_API_URL", "")
        if not base:
            fail("CDSW_API_URL is not set: this script runs as a CML job")
        # CDSW_API_URL is the v1 URL (…/api/v1); API v2 lives beside it.
        self.base = base.rstrip("/").removesuffix("/api/v1").removesuffix("/api/v2") + "/api/v2"
        key = setting("CDSW_APIV2_KEY", "")
        if not key:
            fail("CDSW_APIV2_KEY is not set: create an API v2 key for the job")
        self.session = requests.Session()
        self.session.headers["authorization"] = f"Bearer {key}"
        self.project_id = setting("CDSW_PROJECT_ID", "")

    def call(self, method, path, body=None, params=None):
        response = self.session.request(method, self.base + path, json=body, params=params, timeout=60)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text[:300]
            fail(f"API v2 {method} {path} answered {response.status_code}: {message}")
        return response.json() if response.content else {}

    def list_all(self, path, field, params=None):
        items, token = [], ""
        while True:
            query = dict(params or {}, page_size=100)
            if token:
                query["page_token"] = token
            page = self.call("GET", path, params=query)
            items.extend(page.get(field, []))
            token = page.get("next_page_token", "")
            if not token:
                return items
