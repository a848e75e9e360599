#!/usr/bin/env bash
# Lays out Lakeline as a CML Application bundle: OUT/lakeline/{application.py, bin/lakeline, site/}.
# Unpack it in the project that holds the pipeline and create an Application whose script is
# lakeline/application.py (README, "Inside CML as an Application").
# Usage: scripts/cml-application.sh OUT BINARY SITE_DIR
set -euo pipefail
out="${1:?usage: scripts/cml-application.sh OUT BINARY SITE_DIR}"
binary="${2:?the lakeline binary to bundle}"
site="${3:?the built front end (target/site)}"
here="$(cd "$(dirname "$0")/.." && pwd)"
[[ -x "$binary" ]] || { echo "no executable Lakeline binary at $binary (make build or make release first)" >&2; exit 1; }
[[ -d "$site/pkg" ]] || { echo "no built front end in $site (make build or make release first)" >&2; exit 1; }
bundle="$out/lakeline"
rm -rf "$bundle"
mkdir -p "$bundle/bin"
cp "$here/cml-application/application.py" "$bundle/"
cp "$binary" "$bundle/bin/lakeline"
cp -r "$site" "$bundle/site"
echo "$bundle"
