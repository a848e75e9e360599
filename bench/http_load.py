#!/usr/bin/env python3
"""History and a run's page under load, over real HTTP, as users get them: 10,000 stored pipeline
runs; History's first page, a deep page and each filter, and a run's page, each at 1, 10 and 50
concurrent clients (wrk, installed from Debian's packages when missing); requests per second and
p50/p95/p99 latency (pages are answered from the page cache while their data does not change; one line
renders every request); the server's resident memory before, at its peak and after the load; and the
front end's bundle as served (raw, gzip and brotli).

Measures the optimised build (`make release`: target/release/lakeline) when there is one, else the
debug build; BENCH_BIN names another. BENCH_SECONDS sets each point's length (default 10).
Prints numbers; asserts nothing. Usage: bench/http_load.py, or `make bench`.
"""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RUNS = 10_000
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = [1, 10, 50]
PASSWORD = "a password for the benchmark"


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("installing wrk (Debian's package)", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)


def binary():
    if os.environ.get("BENCH_BIN"):
        return Path(os.environ["BENCH_BIN"])
    release = ROOT / "target/release/lakeline"
    return release if release.exists() else ROOT / "target/debug/lakeline"


def seed(db: Path):
    """10,000 finished runs, one every 55 minutes, each with its three stages (as the tracker
    stores them), in the schema Lakeline's migrations made."""
    rng = random.Random(20261123)
    start = datetime.now(timezone.utc) - timedelta(days=400)
    statuses = ["succeeded", "succeeded", "succeeded", "failed", "stopped"]
    con = sqlite3.connect(db)
    with con:
        for i in range(RUNS):
            created = start + timedelta(minutes=55 * i)
            t = lambda d: (created + timedelta(seconds=d)).isoformat(timespec="microseconds")
            cur = con.execute(
                """INSERT INTO pipeline_runs (status, triggered_by, source, created_at, finished_at, updated_at,
                   snapshot_id, parent_snapshot_id, rows_added, accuracy, recall, model_version_number,
                   deployment_status, lineage_resolved, alerted)
                   VALUES (?, ?, 'lakeline', ?, ?, ?, ?, ?, 1440, ?, ?, ?, 'stopped', 1, 1)""",
                (statuses[i % 5], "paul" if i % 3 == 0 else "ana", t(0), t(40), t(40), str(1_000_000 + i),
                 str(1_000_000 + i - 1), 0.85 + rng.random() / 10, 0.5 + rng.random() / 3, i + 1),
            )
            run_id = cur.lastrowid
            for stage in range(3):
                con.execute(
                    """INSERT INTO stage_runs (pipeline_run_id, stage, attempt, job_id, job_run_id, status, created_at,
                       running_at, finished_at, log_tail, log_final) VALUES (?, ?, 1, ?, ?, 'ENGINE_SUCCEEDED', ?, ?, ?, ?, 1)""",
                    (run_id, stage, f"job-{stage}", f"run-{run_id}-{stage}", t(stage * 12), t(stage * 12 + 1),
                     t(stage * 12 + 11), f"stage {stage} of run {run_id} done\n" * 20),
                )
    con.close()


def rss_kb(pid, field="VmRSS"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def wrk(url, cookie, clients, unique=False):
    env = {**os.environ, **({"WRK_UNIQUE": "1"} if unique else {})}
    out = subprocess.run(
        ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{SECONDS}s", "--timeout", "10s",
         "-s", str(ROOT / "bench/wrk_report.lua"), "-H", f"Cookie: {cookie}", "-H", "Accept-Encoding: gzip", url],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def report_bundle(pkg: Path):
    """The front end's files as served, raw and in each stored compression: first what every page
    downloads before it can hydrate (the module, its script, the stylesheet), then, for a split
    build (make release), the pieces lazily loaded pages fetch when first shown."""
    def sizes(f: Path):
        copies = (f.with_name(f.name + ".gz"), f.with_name(f.name + ".br"))
        return [f.stat().st_size] + [c.stat().st_size if c.exists() else 0 for c in copies]

    def line(name, values):
        return f"  {name:<28} " + " · ".join(f"{v / 1024:>7.0f} KB" for v in values)

    # The split build's loader (imported by lakeline.js) is part of the first download too.
    first = [pkg / "lakeline.wasm", pkg / "lakeline.js", pkg / "lakeline.css", *sorted(pkg.glob("__wasm_split*.js"))]
    print("\nfront end as served (raw · gzip · brotli), what every page downloads first:")
    totals = [0, 0, 0]
    for f in first:
        if f.exists():
            totals = [t + v for t, v in zip(totals, sizes(f))]
            print(line("the pieces' loader (js)" if f.name.startswith("__wasm_split") else f.name, sizes(f)))
    print(line("in all", totals))
    pieces = sorted(p for p in pkg.iterdir() if p.name.startswith(("split_", "chunk_")) and p.suffix == ".wasm")
    if pieces:
        print(f"lazily loaded pieces ({len(pieces)} files), fetched when their page is first shown:")
        for f in pieces:
            if f.name.startswith("split_"):
                page = f.name.removeprefix("split___").split("_view_")[0]
                print(line(f"the {page} page", sizes(f)))
        print(line("all pieces", [sum(v) for v in zip(*(sizes(f) for f in pieces))]))


def main():
    ensure_wrk()
    exe = binary()
    print(f"binary: {exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe} · {RUNS} stored runs · {SECONDS} s per point")
    data = Path(tempfile.mkdtemp(prefix="lakeline-bench-"))
    server = None
    try:
        subprocess.run([exe, "--data-dir", data, "user", "add", "bench", "--role", "viewer", "--password-stdin"],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        seed(data / "lakeline.db")
        env = {**os.environ, "LEPTOS_SITE_ROOT": str(ROOT / "target/site"), "RUST_LOG": "warn,lakeline=info"}
        server = subprocess.Popen([exe, "--listen", "127.0.0.1:0", "--data-dir", data], env=env,
                                  stderr=subprocess.PIPE, text=True)
        url = None
        while url is None:
            line = server.stderr.readline()
            if not line:
                sys.exit("Lakeline exited before it listened")
            if "Lakeline is listening" in line:
                url = "http://" + line.split("addr=")[1].split()[0]
        # Keep reading its log so that it never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        signed_in = requests.post(url + "/api/sign_in", data={"name": "bench", "password": PASSWORD}, timeout=30)
        signed_in.raise_for_status()
        cookie = "lakeline_session=" + signed_in.cookies["lakeline_session"]

        month_ago = (datetime.now(timezone.utc) - timedelta(days=60)).strftime("%Y-%m-%d")
        month_end = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%d")
        # Each page is kept once rendered (the page cache) while its data does not change; the
        # last line renders every request (each asks for an address of its own).
        pages = [
            ("History, first page", "/history"),
            ("History, page 200 of 400", "/history?cursor=before-5000"),
            ("History, the oldest page", "/history?cursor=before-26"),
            ("History, status = failed", "/history?status=failed"),
            ("History, who = paul", "/history?who=paul"),
            ("History, one month", f"/history?from={month_ago}&to={month_end}"),
            ("History, snapshot id", "/history?snapshot=1005000"),
            ("History, with notes", "/history?with_notes=true"),
            ("a run's page", "/runs/5000"),
            ("History, rendered each time", "/history", True),
        ]
        for _, path, *_ in pages:
            r = requests.get(url + path, headers={"Cookie": cookie}, timeout=30)
            assert r.status_code == 200 and "Lakeline" in r.text, f"{path}: {r.status_code}"

        rss_before = rss_kb(server.pid)
        print(f"\n{'page':<28} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for name, path, *unique in pages:
            for clients in CLIENTS:
                # Each point starts on a quiet server: 50 clients leave up to 50 requests in
                # flight when wrk stops, which the next point's first requests would wait behind.
                time.sleep(1)
                r = wrk(url + path, cookie, clients, unique=bool(unique))
                errors = r["socket_errors"] + r["non_2xx"]
                print(f"{name:<28} {clients:>7} {r['rps']:>9.0f} {r['p50'] / 1000:>8.2f} {r['p95'] / 1000:>8.2f} {r['p99'] / 1000:>8.2f} {errors:>7}", flush=True)
        peak = rss_kb(server.pid, "VmHWM")
        time.sleep(5)
        after = rss_kb(server.pid)
        print(f"\nresident memory: {rss_before / 1024:.0f} MB before the load, {peak / 1024:.0f} MB at its peak, {after / 1024:.0f} MB 5 s after it ended")

        report_bundle(ROOT / "target/site/pkg")
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
