#!/usr/bin/env python3
"""What serving the front end costs the server: for the built wasm (the largest file), the server
CPU time and the wall time per download, and the bytes sent, with the build's precompressed `.gz`
(as `make build` leaves the site) and without it (the response layer compresses each download);
and a page load (`/sign-in`), compressed and not.

Starts the built Lakeline twice on copies of target/site. Prints numbers; asserts nothing.
Usage: bench/static_assets.py (after `make build`), or `make bench`. Takes about a minute.
"""

import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DOWNLOADS = int(os.environ.get("BENCH_DOWNLOADS", "10"))
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def measure(precompressed):
    work = Path(tempfile.mkdtemp(prefix="lakeline-bench-assets-"))
    site = work / "site"
    shutil.copytree(ROOT / "target/site", site)
    if not precompressed:
        for gz in (site / "pkg").glob("*.gz"):
            gz.unlink()
    elif not list((site / "pkg").glob("*.wasm.gz")):
        subprocess.run([str(ROOT / "scripts/precompress.sh"), str(site)], check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LEPTOS_SITE_ROOT=str(site), RUST_LOG="warn", LAKELINE_RUNTIMES_DIR=str(ROOT / "target/tmp/runtimes"))
    proc = subprocess.Popen([str(ROOT / "target/debug/lakeline"), "--data-dir", str(work / "data"), "--listen", f"127.0.0.1:{port}",
                             "--project-dir", str(ROOT / "pipeline")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                requests.get(url + "/healthz", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                time.sleep(0.2)
        wasm = (site / "pkg/lakeline.wasm").stat().st_size
        cpu, wall, sent = [], [], 0
        for _ in range(DOWNLOADS):
            before, started = cpu_seconds(proc.pid), time.perf_counter()
            r = requests.get(url + "/pkg/lakeline.wasm", headers={"accept-encoding": "gzip"}, stream=True, timeout=60)
            sent = len(r.raw.read())
            wall.append(time.perf_counter() - started)
            cpu.append(cpu_seconds(proc.pid) - before)
        label = "precompressed" if precompressed else "compressed per request"
        print(f"wasm ({wasm / 1e6:.1f} MB), {label}: {sent / 1e6:.2f} MB sent; server CPU per download "
              f"median {statistics.median(cpu):.3f} s; wall median {statistics.median(wall):.3f} s (n={DOWNLOADS})")
        if precompressed:
            for encoding in ("gzip", "identity"):
                times = []
                for _ in range(DOWNLOADS):
                    started = time.perf_counter()
                    requests.get(url + "/sign-in", headers={"accept-encoding": encoding}, timeout=60).raise_for_status()
                    times.append(time.perf_counter() - started)
                print(f"a page (/sign-in), {encoding}: median {statistics.median(times) * 1000:.1f} ms (n={DOWNLOADS})")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    measure(precompressed=False)
    measure(precompressed=True)
