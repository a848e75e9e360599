"""Runs as a job in Lakeline's local workspace: drives the workspace's MLflow routes with the real
`mlflow` client and compares every answer with what MLflow's own rules give on the same runs.

Filters are evaluated by MLflow's own `SearchUtils.filter` (the rules its stores share) on the runs
as they read back; orders by the rules of MLflow's SQL store (`_get_orderby_clauses`: runs that
have the key first — for metrics numbers, then NaN, then missing — then the key in the clause's
direction, then start time newest first unless ordered on, then run id), written out below.
Prints each check and exits 1 on the first difference."""

import functools
import math
import sys
import time
import uuid

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils

client = MlflowClient()
failures = []


def check(what, expected, actual):
    if expected == actual:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}\n     expected {expected}\n     actual   {actual}")
        failures.append(what)


NAN = float("nan")
# name, status, metrics (acc, loss), params, tags
SPECS = [
    ("r0", "FINISHED", {"acc": 0.91, "loss": 0.30}, {"depth": "4"}, {"team": "ops"}),
    ("r1", "FAILED", {"acc": 0.75, "loss": NAN}, {"depth": "10"}, {"team": "Ops"}),
    ("r2", "RUNNING", {"loss": 0.5}, {"depth": "7"}, {}),
    ("r3", "FINISHED", {"acc": 0.80, "loss": 0.2}, {}, {"team": "data"}),
    ("r4", "FINISHED", {"acc": 0.91, "loss": 0.1}, {"depth": "4"}, {"team": "ops-eu"}),
    ("r5", "KILLED", {"acc": NAN, "loss": 0.7}, {"depth": "2"}, {"team": ""}),
    ("r6", "FINISHED", {"acc": 0.5, "loss": 0.9}, {"lr": "0.1"}, {"team": "data-science"}),
    ("r7", "FINISHED", {"acc": 1.0, "loss": 0.0}, {"depth": "12"}, {"team": "OPS"}),
]

experiment = client.create_experiment(f"search-check-{uuid.uuid4().hex[:8]}")
base = int(time.time() * 1000) - 100_000
ids = {}
for i, (name, status, metrics, params, tags) in enumerate(SPECS):
    start = base + i * 1000
    run = client.create_run(experiment, start_time=start, tags=tags, run_name=name)
    rid = run.info.run_id
    ids[name] = rid
    if name == "r0":
        # An earlier step: the latest value (greatest step) is what searches see.
        client.log_metric(rid, "acc", 0.5, timestamp=start + 50, step=0)
    for key, value in metrics.items():
        client.log_metric(rid, key, value, timestamp=start + 100, step=1)
    for key, value in params.items():
        client.log_param(rid, key, value)
    if status != "RUNNING":
        client.set_terminated(rid, status=status, end_time=start + 500 + (7 - i) * 10)

everything = client.search_runs([experiment], max_results=1000)
check("every run reads back", sorted(ids), sorted(r.info.run_name for r in everything))
names = lambda runs: [r.info.run_name for r in runs]


def value(run, key_type, key):
    if key_type == "metric":
        return run.data.metrics.get(key)
    if key_type == "parameter":
        return run.data.params.get(key)
    if key_type == "tag":
        return run.data.tags.get(key)
    return getattr(run.info, SearchUtils.translate_key_alias(key))


def presence(v):
    if v is None:
        return 2
    if isinstance(v, float) and math.isnan(v):
        return 1
    return 0


def sql_order(runs, order_by):
    parsed = [SearchUtils.parse_order_by_for_search_runs(o) for o in order_by]
    by_start = any(t == "attribute" and SearchUtils.translate_key_alias(k) == "start_time" for t, k, _ in parsed)

    def compare(a, b):
        for key_type, key, ascending in parsed:
            va, vb = value(a, key_type, key), value(b, key_type, key)
            pa, pb = presence(va), presence(vb)
            if pa != pb:
                return -1 if pa < pb else 1
            if pa == 0 and va != vb:
                return (-1 if va < vb else 1) * (1 if ascending else -1)
        if not by_start and a.info.start_time != b.info.start_time:
            return -1 if a.info.start_time > b.info.start_time else 1
        return (a.info.run_id > b.info.run_id) - (a.info.run_id < b.info.run_id)

    return sorted(runs, key=functools.cmp_to_key(compare))


t3 = base + 3 * 1000
FILTERS = [
    "metrics.acc > 0.8", "metrics.acc >= 0.8", "metrics.acc < 0.8", "metrics.acc <= 0.8",
    "metrics.acc = 0.91", "metrics.acc != 0.91", "metrics.loss <= 0.3", "metric.`acc` > 0.7",
    "params.depth = '4'", "params.depth != '4'", "params.depth LIKE '1%'", "params.depth ILIKE '%0'",
    "params.depth IS NULL", "params.depth IS NOT NULL", "param.lr = '0.1'",
    "tags.team = 'ops'", "tags.team != 'ops'", "tags.team LIKE 'ops%'", "tags.team ILIKE 'ops%'",
    "tags.team LIKE '%a_a%'", "tags.team = ''", "tags.team IS NULL", 'tags."team" = \'data\'',
    "attributes.status = 'FINISHED'", "status != 'FINISHED'", "run_name LIKE 'r%'", "attributes.run_name ILIKE 'R1'",
    f"run_id IN ('{ids['r0']}', '{ids['r3']}')", f"run_id NOT IN ('{ids['r0']}')",
    f"attributes.start_time >= {t3}", f"start_time < {t3}", "end_time > 0", f"created > {t3}",
    "metrics.acc > 0.7 AND params.depth = '4' AND tags.team LIKE 'ops%'",
    "metrics.acc >= 0.5 and status = 'FINISHED' and run_name != 'r6'",
]
for f in FILTERS:
    expected = names(sql_order(SearchUtils.filter(everything, f), []))
    check(f"filter {f}", expected, names(client.search_runs([experiment], f)))

ORDERS = [
    [], ["metrics.acc"], ["metrics.acc DESC"], ["metrics.loss ASC"], ["metrics.loss DESC"],
    ["params.depth"], ["params.depth DESC"], ["tags.team"], ["tags.team DESC"],
    ["attributes.run_name"], ["run_name DESC"], ["start_time"], ["attributes.start_time DESC"],
    ["end_time"], ["end_time DESC"], ["status", "metrics.acc DESC"], ["metrics.acc DESC", "params.depth"],
    ["tags.team DESC", "metrics.loss"], ["`metrics`.acc ASC"], ["created DESC"],
]
for order in ORDERS:
    check(f"order_by {order}", names(sql_order(everything, order)), names(client.search_runs([experiment], order_by=order)))
check(
    "filter and order_by",
    names(sql_order(SearchUtils.filter(everything, "metrics.acc >= 0.8"), ["metrics.acc DESC"])),
    names(client.search_runs([experiment], "metrics.acc >= 0.8", order_by=["metrics.acc DESC"])),
)

# Paging: three at a time, in the same order as all at once.
pages, token = [], None
while True:
    page = client.search_runs([experiment], order_by=["metrics.acc DESC"], max_results=3, page_token=token)
    pages.append(names(page))
    token = page.token
    if not token:
        break
check("pages of 3", names(sql_order(everything, ["metrics.acc DESC"])), [n for p in pages for n in p])
check("page sizes", [3, 3, 2], [len(p) for p in pages])

# What MLflow refuses, the workspace refuses with INVALID_PARAMETER_VALUE.
for bad in ["metrics.acc > 'x'", "params.depth > '3'", "status IN ('FINISHED')", "foo.bar = 'x'", "metrics.acc > 1 OR metrics.loss > 1", "nonsense = 'x'"]:
    try:
        SearchUtils.filter(everything, bad)  # parses, then checks each comparator as it evaluates
        mlflow_refuses = False
    except MlflowException:
        mlflow_refuses = True
    try:
        client.search_runs([experiment], bad)
        code = None
    except MlflowException as e:
        code = e.error_code
    check(f"refused {bad}", (True, "INVALID_PARAMETER_VALUE"), (mlflow_refuses, code))
try:
    client.search_runs([experiment], order_by=["metrics.acc", "metric.acc DESC"])
    code = None
except MlflowException as e:
    code = e.error_code
check("duplicate order_by refused", "INVALID_PARAMETER_VALUE", code)

# Metric history: every point once, in step order.
history = client.get_metric_history(ids["r0"], "acc")
check("metric history", [(0, 0.5), (1, 0.91)], sorted((m.step, m.value) for m in history))

# MLflow 3 links a run's metrics to a logged model by logging them again with its model id (what
# log_model does): the run's history keeps one copy, and the model lists them.
from mlflow.entities import Metric

model = client.create_logged_model(experiment, name="linked", source_run_id=ids["r3"])
client.log_batch(ids["r3"], metrics=[Metric("acc", 0.80, base + 3 * 1000 + 100, 1, model_id=model.model_id)])
check("a linked metric is not a second point", [(1, 0.80)], [(m.step, m.value) for m in client.get_metric_history(ids["r3"], "acc")])
check("the logged model lists it", [("acc", 0.80, ids["r3"])], [(m.key, m.value, m.run_id) for m in client.get_logged_model(model.model_id).metrics])

# search_experiments.
prefix = f"xs-{uuid.uuid4().hex[:6]}-"
made = []
for name, owner in [("alpha", "ada"), ("beta", "bo"), ("gamma", None), ("Delta", "ada")]:
    tags = {"owner": owner} if owner else {}
    made.append(client.get_experiment(client.create_experiment(prefix + name, tags=tags)))
    time.sleep(0.02)  # distinct creation times: no tie for the id to break


def experiment_order(experiments, order_by):
    parsed = [SearchExperimentsUtils.parse_order_by_for_search_experiments(o) for o in order_by] or [
        ("attribute", "creation_time", False), ("attribute", "experiment_id", True)]

    def compare(a, b):
        for _, key, ascending in parsed:
            va, vb = getattr(a, key), getattr(b, key)
            if va != vb:
                return (-1 if va < vb else 1) * (1 if ascending else -1)
        return 0

    return sorted(experiments, key=functools.cmp_to_key(compare))


for f, order in [
    (f"name LIKE '{prefix}%'", []),
    (f"name LIKE '{prefix}%'", ["name DESC"]),
    (f"name LIKE '{prefix}%'", ["creation_time"]),
    (f"name ILIKE '{prefix.upper()}%A' AND tags.owner = 'ada'", ["name"]),
    (f"name LIKE '{prefix}%' AND tags.owner IS NULL", []),
    (f"name LIKE '{prefix}%' AND tags.owner != 'ada'", ["last_update_time DESC"]),
    (f"name = '{prefix}beta'", []),
    (f"name LIKE '{prefix}%' AND creation_time > {made[1].creation_time}", []),
]:
    expected = [e.name for e in experiment_order(SearchExperimentsUtils.filter(made, f), order)]
    check(f"search_experiments {f} {order}", expected, [e.name for e in client.search_experiments(filter_string=f, order_by=order)])

if failures:
    print(f"{len(failures)} check(s) differ from MLflow's rules")
    sys.exit(1)
print("every answer matches MLflow's rules")
