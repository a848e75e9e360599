"""API Redeployment: registers the newest finished retrain as a new version of the registered
model, builds it on the model endpoint (creating the model on the first run) and deploys the
build. Waits for the build and the deployment and fails with a clear message when either fails.

Settings (environment): PIPELINE_USER, EXPERIMENT_NAME (default xgb-telco-<user>), MODEL_NAME
(default CellTwrFail-CLF-<user>), RUNTIME_IDENTIFIER (default: looked up with list_runtimes for
the kernel, editor and edition in RUNTIME_KERNEL / RUNTIME_EDITOR / RUNTIME_EDITION, by default
this interpreter's Python on Workbench, Standard), BUILD_TIMEOUT / DEPLOY_TIMEOUT (seconds).
"""

import json
import sys
import time

import mlflow

from pipeline_common import ApiV2, fail, log, owner_suffix, setting, start_logging, write_summary


def newest_finished_run(experiment_name):
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        fail(f"experiment {experiment_name!r} does not exist: run Retrain XGBoost first")
    # Explicit order: newest start first. (The lab took the last row of the default order.)
    runs = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    if not runs:
        fail(f"experiment {experiment_name!r} has no finished run")
    return experiment.experiment_id, runs[0]


def runtime_identifier(api):
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
    newest = max(exact, key=lambda r: [int(p) if p.isdigit() else 0 for p in r.get("full_version", "0").replace("-", ".").split(".")])
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

    experiment_id, run = newest_finished_run(experiment_name)
    run_id = run.info.run_id
    log.info("newest finished run of %s: %s (started %s)", experiment_name, run_id, run.info.start_time)

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
