#!/usr/bin/env python3
"""What live pages cost the workspace, and how fast a change reaches them.

Starts the built Lakeline on the embedded local workspace and, for 0, 3 and 20 open pages (each an
SSE client on /api/events that refetches the newest run through its server function on every
event, as the Pipeline page does, plus a History page load per event that lists runs), measures:

  * workspace API calls per minute while idle and while a chain runs;
  * the delay from a job run's state change in the workspace (its own timestamp) to the event
    reaching a page (p50, p95);
  * with a New Batch that sleeps three minutes first: calls per minute while that stage runs and
    how long after its end the page heard of it.

Prints numbers; asserts nothing. Usage: bench/live_cost.py (after `make build`), or
`make bench`. Takes about 15 minutes.
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a password for the benchmark"
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "60"))
LONG_STAGE_SECONDS = int(os.environ.get("BENCH_LONG_STAGE_SECONDS", "180"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lakeline:
    def __init__(self, project_setup=None):
        self.dir = Path(tempfile.mkdtemp(prefix="lakeline-bench-"))
        project = self.dir / "project"
        project.mkdir()
        for f in (ROOT / "pipeline").iterdir():
            if f.is_file():
                shutil.copy(f, project / f.name)
        if project_setup:
            project_setup(project)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, LAKELINE_RUNTIMES_DIR=str(ROOT / "target/tmp/runtimes"), LEPTOS_SITE_ROOT=str(ROOT / "target/site"),
                   BATCH_SEED="7", RUST_LOG="warn")
        self.log = open(self.dir / "lakeline.log", "w")
        binary = str(ROOT / "target/debug/lakeline")
        subprocess.run([binary, "--data-dir", str(self.dir / "data"), "user", "add", "bench", "--role", "admin", "--password-stdin"],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        self.proc = subprocess.Popen([binary, "--data-dir", str(self.dir / "data"), "--listen", f"127.0.0.1:{port}",
                                      "--project-dir", str(project), "--owner-suffix", "bench"], env=env, stdout=self.log, stderr=self.log)
        for _ in range(300):
            try:
                requests.get(self.url + "/healthz", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                time.sleep(0.2)
        self.http = requests.Session()
        self.fn("sign_in", f"name=bench&password={PASSWORD.replace(' ', '+')}")
        self.fn("apply_pipeline_setup")

    def fn(self, name, body=""):
        r = self.http.post(f"{self.url}/api/{name}", data=body, headers={"content-type": "application/x-www-form-urlencoded"}, timeout=60)
        r.raise_for_status()
        return r.json()

    def calls(self):
        return requests.get(self.url + "/healthz", timeout=5).json()["workspace_api_calls"]

    def newest(self):
        return self.fn("current_pipeline_run")

    def run_chain(self):
        run_id = self.fn("trigger_pipeline", "arguments=&environment=")
        while True:
            detail = self.fn("get_pipeline_run", f"id={run_id}")
            if detail["run"]["status"] != "running":
                return detail
            time.sleep(0.5)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class Page(threading.Thread):
    """An open Pipeline page: an SSE stream, and on every event the page's own refetches."""

    def __init__(self, lakeline):
        super().__init__(daemon=True)
        self.lakeline = lakeline
        self.events = []  # (arrival time, change)
        self.stopped = threading.Event()
        self.session = requests.Session()
        self.session.cookies.update(lakeline.http.cookies)

    def run(self):
        try:
            self.follow()
        except requests.RequestException:
            pass  # Lakeline stopped: the page is closed

    def follow(self):
        history = "filter[status]=&filter[from]=&filter[to]=&filter[who]=&filter[snapshot]=&cursor="
        with self.session.get(self.lakeline.url + "/api/events", stream=True, timeout=(5, None)) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if self.stopped.is_set():
                    return
                if line and line.startswith("data:"):
                    arrived = time.time()
                    change = json.loads(line[5:])
                    self.events.append((arrived, change))
                    self.session.post(self.lakeline.url + "/api/current_pipeline_run", data="",
                                      headers={"content-type": "application/x-www-form-urlencoded"})
                    if change.get("kind") != "log":
                        self.session.post(self.lakeline.url + "/api/list_pipeline_runs", data=history,
                                          headers={"content-type": "application/x-www-form-urlencoded"})


def ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def delays(pages, detail):
    """Seconds from each stage transition (as the workspace stamped it) to its event at each page."""
    out = []
    stamps = {}
    for s in detail["run"]["stages"]:
        stamps[(s["stage"], "ENGINE_RUNNING")] = ts(s["running_at"])
        stamps[(s["stage"], "ENGINE_SUCCEEDED")] = ts(s["finished_at"])
    for page in pages:
        seen = set()
        for arrived, change in page.events:
            key = (change.get("stage"), change.get("state"))
            if change.get("pipeline_run_id") == detail["run"]["id"] and key in stamps and key not in seen and stamps[key]:
                seen.add(key)
                out.append(arrived - stamps[key])
    return out


def open_pages(lakeline, n):
    pages = [Page(lakeline) for _ in range(n)]
    for p in pages:
        p.start()
    time.sleep(1)
    return pages


def close_pages(pages):
    for p in pages:
        p.stopped.set()
        p.session.close()


def measure(n):
    lakeline = Lakeline()
    try:
        lakeline.run_chain()  # warm-up: the venv, and past durations to predict ends from
        pages = open_pages(lakeline, n)
        time.sleep(5)
        c0, t0 = lakeline.calls(), time.time()
        time.sleep(IDLE_SECONDS)
        idle = (lakeline.calls() - c0) * 60 / (time.time() - t0)
        c1, t1 = lakeline.calls(), time.time()
        detail = lakeline.run_chain()
        chain_seconds = time.time() - t1
        chain = (lakeline.calls() - c1) * 60 / chain_seconds
        d = delays(pages, detail)
        close_pages(pages)
        if detail["run"]["status"] != "succeeded":
            for log in detail["logs"]:
                print(f"--- {log['stage']} ({log['path']}):\n" + "\n".join(log["text"].splitlines()[-15:]), file=sys.stderr)
        return idle, chain, chain_seconds, d, detail["run"]["status"]
    finally:
        lakeline.stop()


def long_stage():
    def slow_batch(project):
        (project / "new_batch_real.py").write_text((project / "new_batch.py").read_text())
        (project / "new_batch.py").write_text(f"import runpy, time\ntime.sleep({LONG_STAGE_SECONDS})\nrunpy.run_path('new_batch_real.py', run_name='__main__')\n")

    lakeline = Lakeline(slow_batch)
    try:
        pages = open_pages(lakeline, 3)
        run_id = lakeline.fn("trigger_pipeline", "arguments=&environment=")
        marks = {}
        while True:
            detail = lakeline.fn("get_pipeline_run", f"id={run_id}")
            stage = detail["run"]["stages"][0]
            if stage["state"] == "ENGINE_RUNNING" and "running" not in marks:
                marks["running"] = (time.time(), lakeline.calls())
            if stage["state"] != "ENGINE_RUNNING" and "running" in marks:
                marks["ended"] = (time.time(), lakeline.calls())
                break
            time.sleep(0.25)
        (t_run, c_run), (t_end, c_end) = marks["running"], marks["ended"]
        per_minute = (c_end - c_run) * 60 / (t_end - t_run)
        end_stamp = ts(stage["finished_at"])
        heard = [arrived - end_stamp for p in pages for arrived, ch in p.events
                 if ch.get("stage") == "new_batch" and ch.get("state") == stage["state"]]
        close_pages(pages)
        return per_minute, (t_end - t_run), max(heard) if heard else None
    finally:
        lakeline.stop()


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    print(f"{'pages':>5}  {'idle calls/min':>14}  {'chain calls/min':>15}  {'chain s':>7}  {'delay p50 s':>11}  {'delay p95 s':>11}  status")
    for n in [int(n) for n in os.environ.get("BENCH_PAGES", "0,3,20").split(",")]:
        idle, chain, seconds, d, status = measure(n)
        print(f"{n:>5}  {idle:>14.1f}  {chain:>15.1f}  {seconds:>7.1f}  {pct(d, 50):>11.2f}  {pct(d, 95):>11.2f}  {status}", flush=True)
    if os.environ.get("BENCH_LONG_STAGE", "1") == "0":
        return
    per_minute, seconds, heard = long_stage()
    print(f"a {seconds:.0f} s stage: {per_minute:.1f} calls/min while it ran; its end reached the pages after {heard:.2f} s" if heard is not None
          else f"a {seconds:.0f} s stage: {per_minute:.1f} calls/min while it ran; its end event was not seen")


if __name__ == "__main__":
    sys.exit(main())
