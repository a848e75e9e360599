"""Starts Lakeline as a CML Application in the project that holds the pipeline.

Create the Application (Applications -> New Application) with this file as its script, any Python
runtime, 1 vCPU / 2 GiB. It starts the prebuilt `lakeline` binary beside it (bin/lakeline, with the
front end in site/: `make cml-application` makes the bundle) with CML's own variables:

- it listens on 127.0.0.1:$CDSW_APP_PORT (or $CDSW_READONLY_PORT), where CML's proxy reaches it;
- it drives the workspace at $CDSW_API_URL with $CDSW_APIV2_KEY, in the project $CDSW_PROJECT_ID
  (Lakeline reads these three itself);
- it keeps its database in the project ($HOME/.lakeline, or $LAKELINE_DATA_DIR), so a restarted
  Application keeps its history;
- people are signed in by CML: its proxy names them in the Remote-User header
  (LAKELINE_TRUSTED_USER_HEADER), which Lakeline believes only from the proxy's addresses
  (LAKELINE_TRUSTED_PROXIES, loopback unless set). Someone seen first becomes a viewer
  (LAKELINE_TRUSTED_DEFAULT_ROLE); make yourself admin once from a session's terminal:
  `lakeline/bin/lakeline --data-dir ~/.lakeline user add YOUR_CML_NAME --role admin`.

Any LAKELINE_* variable set on the Application wins over these defaults. The Application stops
Lakeline gracefully when CML stops it (SIGTERM is passed on).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fail(message):
    print(f"lakeline application: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def settings(env):
    """The command line and environment Lakeline starts with, from CML's variables."""
    port = env.get("CDSW_APP_PORT") or env.get("CDSW_READONLY_PORT")
    if not port:
        fail("neither CDSW_APP_PORT nor CDSW_READONLY_PORT is set: start this file as a CML Application")
    missing = [name for name in ("CDSW_API_URL", "CDSW_APIV2_KEY", "CDSW_PROJECT_ID") if not env.get(name) and not env.get(name.replace("CDSW_", "LAKELINE_CML_"))]
    if missing:
        fail(f"{', '.join(missing)} not set: CML sets them in Applications of workspaces with API v2 enabled")
    binary = Path(env.get("LAKELINE_BIN") or HERE / "bin" / "lakeline")
    if not os.access(binary, os.X_OK):
        fail(f"no Lakeline binary at {binary}: unpack the bundle made by `make cml-application` here")
    home = Path(env.get("HOME") or "/home/cdsw")
    out = dict(env)
    out.setdefault("LAKELINE_LISTEN", f"127.0.0.1:{port}")
    out.setdefault("LAKELINE_DATA_DIR", str(home / ".lakeline"))
    out.setdefault("LEPTOS_SITE_ROOT", str(HERE / "site"))
    out.setdefault("LAKELINE_TRUSTED_USER_HEADER", "Remote-User")
    return [str(binary)], out


def main():
    command, env = settings(dict(os.environ))
    Path(env["LAKELINE_DATA_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    print(f"lakeline application: starting {command[0]} on {env['LAKELINE_LISTEN']}", flush=True)
    child = subprocess.Popen(command, env=env)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
    sys.exit(child.wait())


if __name__ == "__main__":
    main()
