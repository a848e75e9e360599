"""API Redeployment: registers the MLflow run of the retrain it follows (found by ids: the
retrain job's run that caused it, and the MLflow run that job run tagged) as a new version of the
registered model, builds it on the model endpoint (creating the model on the first run) and deploys the
build. Waits for the build and the deployment and fails with a clear message when either fails.

The quality gate: before registering, the new model and the live one (the model's deployment that
serves now) are measured on the same rows, the new run's held-out rows (its artifact
holdout/holdout.csv). The new model deploys unless it is worse than the live one by more than a
margin on accuracy or on recall; the first model deploys. The decision and both models' figures
are tags of the new MLflow run (gate_decision: first, passed, gated, overridden or unmeasured;
gate_reason in words; gate_accuracy, gate_recall, gate_live_accuracy, gate_live_recall,
gate_live_run_id, gate_live_version, gate_accuracy_margin, gate_recall_margin) and are in the job's
summary file. A gated model is not registered and the job succeeds: the live model keeps serving.

Settings (environment): PIPELINE_PARENT_JOB_ID (the retrain job; Lakeline's set-up sets it),
RETRAIN_JOB_RUN_ID (the retrain job run to deploy; Lakeline sets it when it retries a redeployment),
PIPELINE_USER, EXPERIMENT_NAME (default xgb-telco-<user>), MODEL_NAME
(default CellTwrFail-CLF-<user>), RUNTIME_IDENTIFIER (default: looked up with list_runtimes for
the kernel, editor and edition in RUNTIME_KERNEL / RUNTIME_EDITOR / RUNTIME_EDITION, by default
this interpreter's Python on Workbench, Standard), BUILD_TIMEOUT / DEPLOY_TIMEOUT (seconds),
GATE_ACCURACY_MARGIN / GATE_RECALL_MARGIN (how much worse than the live model the new one may be;
defaults 0.03 and 0.15; Lakeline's Settings set them), QUALITY_GATE=off (deploy whatever the
figures: Lakeline's "deploy anyway").
"""

import json
import re
import sys
import tempfile
import time

import mlflow
import mlflow.xgboost
import pandas as pd
from mlflow.entities import RunTag
from sklearn.metrics import accuracy_score, recall_score

from pipeline_common import FEATURES, LABEL, ApiV2, fail, log, owner_suffix, setting, start_logging, write_summary

GATE_METRICS = ("accuracy", "recall")


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


def live_run(api, model):
    """The MLflow run of the model that serves now: the model's newest deployment whose status is
    deployed, its build's registered version, and that version's run. (run id, version number),
    or None when nothing of this model serves."""
    if model is None:
        return None
    builds_path = f"/projects/{api.project_id}/models/{model['id']}/builds"
    serving = [
        (deployment.get("created_at", ""), build)
        for build in api.list_all(builds_path, "model_builds")
        for deployment in api.list_all(f"{builds_path}/{build['id']}/deployments", "model_deployments")
        if deployment.get("status") == "deployed"
    ]
    if not serving:
        return None
    build = max(serving, key=lambda found: found[0])[1]
    if not model.get("registered_model_id") or not build.get("registered_model_version_id"):
        raise LookupError(f"the live build {build['id']} was not made from a registered model version")
    version = api.call("GET", f"/registry/models/{model['registered_model_id']}/versions/{build['registered_model_version_id']}")
    return version["model_version_metadata"]["mlflow_metadata"]["run_id"], version["number"]


def margin(metric, default):
    """GATE_<METRIC>_MARGIN: how much lower than the live model's the new model's figure may be."""
    text = setting(f"GATE_{metric.upper()}_MARGIN", default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        fail(f"GATE_{metric.upper()}_MARGIN must be a number from 0 to 1, not {text!r} (Lakeline's Settings set it)")
    return value


def measure(run_id, rows):
    """Accuracy and recall of a run's model on the given rows."""
    model = mlflow.xgboost.load_model(f"runs:/{run_id}/artifacts")
    predicted = model.predict(rows[FEATURES].astype("int64"))
    truth = rows[LABEL].astype("int64")
    return {"accuracy": float(accuracy_score(truth, predicted)), "recall": float(recall_score(truth, predicted, zero_division=0))}


def decide(new, live, margins, forced):
    """The gate's rule: (decision, reason). The new model deploys unless, for some metric, it is
    worse than the live one by more than that metric's margin."""
    if live is None:
        return "first", "the first model deploys"
    shortfalls = [f"{m} {new[m]:.3f} < live {live[m]:.3f} - {margins[m]:g}" for m in GATE_METRICS if new[m] < live[m] - margins[m]]
    if not shortfalls:
        figures = ", ".join(f"{m} {new[m]:.3f} vs live {live[m]:.3f}" for m in GATE_METRICS)
        return "passed", f"not worse than the live model: {figures}"
    if forced:
        return "overridden", "deployed anyway: " + "; ".join(shortfalls)
    return "gated", "gated: " + "; ".join(shortfalls)


def quality_gate(run_id, model, api):
    """Measures the new model and the live one on the new run's held-out rows and decides; the
    decision and the figures, as the tags to log."""
    margins = {"accuracy": margin("accuracy", "0.03"), "recall": margin("recall", "0.15")}
    forced = setting("QUALITY_GATE", "on").strip().lower() == "off"
    gate = {f"gate_{m}_margin": margins[m] for m in GATE_METRICS}
    try:
        with tempfile.TemporaryDirectory() as kept:
            rows = pd.read_csv(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="holdout/holdout.csv", dst_path=kept))
    except Exception as e:  # a run logged by an older retrain keeps no held-out rows
        return {**gate, "gate_decision": "unmeasured", "gate_reason": f"deployed unmeasured: run {run_id} kept no held-out rows ({e})"}
    new = measure(run_id, rows)
    gate.update({f"gate_{m}": new[m] for m in GATE_METRICS})
    try:
        live = live_run(api, model)
    except LookupError as e:
        return {**gate, "gate_decision": "unmeasured", "gate_reason": f"deployed unmeasured: {e}"}
    figures = None
    if live is not None:
        live_run_id, live_version = live
        gate.update({"gate_live_run_id": live_run_id, "gate_live_version": live_version})
        try:
            figures = measure(live_run_id, rows)
        except Exception as e:
            return {**gate, "gate_decision": "unmeasured", "gate_reason": f"deployed unmeasured: the live model (run {live_run_id}) could not be loaded ({e})"}
        gate.update({f"gate_live_{m}": figures[m] for m in GATE_METRICS})
    decision, reason = decide(new, figures, margins, forced)
    return {**gate, "gate_decision": decision, "gate_reason": reason}


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

    project = f"/projects/{api.project_id}"
    models = api.list_all(f"{project}/models", "models", {"search_filter": json.dumps({"name": model_name})})
    models = [m for m in models if m["name"] == model_name]
    gate = quality_gate(run_id, models[0] if models else None, api)
    mlflow.MlflowClient().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in gate.items()])
    log.info("quality gate: %s", gate["gate_reason"])
    if gate["gate_decision"] == "gated":
        log.warning("not deployed: the live model keeps serving (an operator can deploy it anyway from Lakeline's run page)")
        write_summary("api_redeployment", {"experiment_id": experiment_id, "run_id": run_id, "gate": gate})
        return

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
            "gate": gate,
        },
    )


if __name__ == "__main__":
    main()
