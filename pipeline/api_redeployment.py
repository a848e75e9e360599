"""API Redeployment: registers the MLflow run of the retrain it follows (found by ids: the
retrain job's run that caused it, and the MLflow run that job run tagged) as a new version of the
registered model, builds it on the model endpoint (creating the model on the first run) and deploys the
build. Waits for the build and the deployment and fails with a clear message when either fails.

Settings (environment): PIPELINE_PARENT_JOB_ID (the retrain job; Lakeline's set-up sets it),
RETRAIN_JOB_RUN_ID (the retrain job run to deploy; Lakeline sets it when it retries a redeployment),
PIPELINE_USER, EXPERIMENT_NAME (default xgb-telco-<user>), MODEL_NAME
(default CellTwrFail-CLF-<user>), RUNTIME_IDENTIFIER (default: looked up with list_runtimes for
the kernel, editor and edition in RUNTIME_KERNEL / RUNTIME_EDITOR / RUNTIME_EDITION, by default
this interpreter's Python on Workbench, Standard), BUILD_TIMEOUT / DEPLOY_TIMEOUT (seconds).
"""

import json
import re
import sys
import time

import mlflow

from pipeline_common import ApiV2, fail, log, owner_suffix, setting, start_logging, write_summary


def retrain_of_this_chain(api, experiment_name):
    """The MLflow run this redeployment deploys, found by ids, never by recency: the newest
    succeeded run of the job this one follows (PIPELINE_PARENT_JOB_ID, Retrain XGBoost; CML starts
    a dependent job as its parent succeeds, and a job runs once at a time), and the MLflow run that
    job run tagged with its id (cml_job_run_id)."""
    retrain = setting("RETRAIN_JOB_RUN_ID", "")  # Lakeline names it when it retries a redeployment
    if not retrain:
        parent = setting("PIPELINE_PARENT_JOB_ID", "")
        if not parent:
            fail("PIPELINE_PARENT_JOB_ID is not set: set up or repair the jobs from Lakeline's Settings (it names the Retrain job this one follows)")
        runs = api.call(
            "GET",
            f"/projects/{api.project_id}/jobs/{parent}/runs",
            params={"search_filter": json.dumps({"status": "succeeded"}), "sort": "-created_at", "page_size": 1},
        ).get("job_runs", [])
        if not runs:
            fail(f"job {parent} (the retrain) has no succeeded run to deploy")
        retrain = runs[0]["id"]
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        fail(f"experiment {experiment_name!r} does not exist: run Retrain XGBoost first")
    found = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string=f"tags.cml_job_run_id = '{retrain}' AND attributes.status = 'FINISHED'",
        output_format="list",
    )
    if len(found) != 1:
        fail(f"retrain job run {retrain} logged {len(found)} finished MLflow runs in {experiment_name!r}; expected exactly one")
    log.info("retrain job run %s logged MLflow run %s", retrain, found[0].info.run_id)
    return experiment.experiment_id, found[0]


def version_key(version):
    """Orders versions numerically by their runs of digits ("2024.10.1-b12" → [2024, 10, 1, 12]),
    exactly as Lakeline's server does (`version_key` in server/src/pipeline/definition.rs)."""
    return [int(part) for part in re.split(r"\D+", version) if part]


def runtime_identifier(api):
    """The runtime Lakeline chose for the pipeline's jobs (RUNTIME_IDENTIFIER in the job's
    environment), else the newest that matches the runtime settings."""
    explicit = setting("RUNTIME_IDENTIFIER", "")
    if explicit:
        return explicit
    wanted = {
        "kernel": setting("RUNTIME_KERNEL", f"Python {sys.version_info.major}.{sys.version_info.minor}"),
        "editor": setting("RUNTIME_EDITOR", "Workbench"),
        "edition": setting("RUNTIME_EDITION", "Standard"),
    }
    runtimes = api.list_all("/runtimes", "runtimes", {"search_filter": json.dumps(wanted)})
    exact = [r for r in runtimes if all(r.get(k) == v for k, v in wanted.items())]
    if not exact:
        fail(f"no runtime matches {wanted}; set RUNTIME_IDENTIFIER")
    newest = max(exact, key=lambda r: version_key(r.get("full_version", "")))
    return newest["image_identifier"]


def wait_for(describe, fetch, done, failed, timeout):
    deadline = time.time() + timeout
    while True:
        current = fetch()
        status = current.get("status", "")
        if status in done:
            return current
        if status in failed:
            fail(f"{describe} ended with status {status!r}")
        if time.time() > deadline:
            fail(f"{describe} did not finish within {timeout} s (last status {status!r})")
        time.sleep(2)


def main():
    start_logging("api_redeployment")
    api = ApiV2()
    user = owner_suffix()
    experiment_name = setting("EXPERIMENT_NAME", f"xgb-telco-{user}")
    model_name = setting("MODEL_NAME", f"CellTwrFail-CLF-{user}")

    experiment_id, run = retrain_of_this_chain(api, experiment_name)
    run_id = run.info.run_id

    registered = api.call(
        "POST",
        "/registry/models",
        {
            "project_id": api.project_id,
            "experiment_id": experiment_id,
            "run_id": run_id,
            "model_path": "artifacts",
            "model_name": model_name,
            "description": "Cell tower failure classifier retrained by the Lakeline pipeline",
        },
    )
    registered_model_id = registered["model_id"]
    versions = [v for v in registered.get("model_versions", []) if v["model_version_metadata"]["mlflow_metadata"]["run_id"] == run_id]
    if not versions:
        fail(f"the registry answered without a version for run {run_id}")
    version = max(versions, key=lambda v: v["number"])
    log.info("registered %s version %s (%s)", model_name, version["number"], version["model_version_id"])

    project = f"/projects/{api.project_id}"
    models = api.list_all(f"{project}/models", "models", {"search_filter": json.dumps({"name": model_name})})
    models = [m for m in models if m["name"] == model_name]
    if models:
        model = models[0]
    else:
        model = api.call(
            "POST",
            f"{project}/models",
            {
                "project_id": api.project_id,
                "name": model_name,
                "description": "Predicts cell tower failures from four IoT signals",
                "registered_model_id": registered_model_id,
            },
        )
        log.info("created model %s (%s)", model_name, model["id"])

    build = api.call(
        "POST",
        f"{project}/models/{model['id']}/builds",
        {
            "project_id": api.project_id,
            "model_id": model["id"],
            "registered_model_version_id": version["model_version_id"],
            "runtime_identifier": runtime_identifier(api),
            "comment": f"retrain run {run_id}",
        },
    )
    log.info("build %s started", build["id"])
    build_path = f"{project}/models/{model['id']}/builds/{build['id']}"
    build = wait_for(f"build {build['id']}", lambda: api.call("GET", build_path), {"built"}, {"build failed", "failed", "timedout"}, int(setting("BUILD_TIMEOUT", "1800")))
    log.info("build %s built", build["id"])

    deployment = api.call(
        "POST",
        f"{build_path}/deployments",
        {"project_id": api.project_id, "model_id": model["id"], "build_id": build["id"], "cpu": 2, "memory": 4, "replicas": 1},
    )
    deployment_path = f"{build_path}/deployments/{deployment['id']}"
    deployment = wait_for(f"deployment {deployment['id']}", lambda: api.call("GET", deployment_path), {"deployed"}, {"failed", "stopped"}, int(setting("DEPLOY_TIMEOUT", "1800")))
    log.info("deployment %s is deployed", deployment["id"])

    write_summary(
        "api_redeployment",
        {
            "experiment_id": experiment_id,
            "run_id": run_id,
            "registered_model_id": registered_model_id,
            "model_version_id": version["model_version_id"],
            "version_number": version["number"],
            "model_id": model["id"],
            "build_id": build["id"],
            "deployment_id": deployment["id"],
        },
    )


if __name__ == "__main__":
    main()
