#!/usr/bin/env bash
# Compresses the built front end's files once (gzip -9, a `.gz` beside each), so that Lakeline
# serves the stored file instead of compressing it at every download. Idempotent: a `.gz` newer
# than its file is kept. Usage: scripts/precompress.sh SITE_DIR
set -euo pipefail
site="${1:?usage: scripts/precompress.sh SITE_DIR}"
shopt -s nullglob
for file in "$site"/pkg/*.wasm "$site"/pkg/*.js "$site"/pkg/*.css; do
  if [[ ! "$file.gz" -nt "$file" ]]; then
    gzip -9 --keep --force --no-name "$file"
  fi
done
