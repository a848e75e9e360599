#!/usr/bin/env bash
# Compresses the built front end's files once, a `.br` (brotli) and a `.gz` (gzip -9) beside each,
# so that Lakeline serves a stored file instead of compressing it at every download (brotli to the
# browsers that take it, all current ones; gzip to the others). Idempotent: a copy newer than its
# file is kept. Brotli's best level takes seconds per megabyte, so files over 4 MB (the debug
# build's wasm) get a quick level. Usage: scripts/precompress.sh SITE_DIR
set -euo pipefail
site="${1:?usage: scripts/precompress.sh SITE_DIR}"
if ! command -v brotli >/dev/null; then
  echo "[precompress] installing Debian's brotli" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends brotli >&2
fi
shopt -s nullglob
for file in "$site"/pkg/*.wasm "$site"/pkg/*.js "$site"/pkg/*.css; do
  if [[ ! "$file.gz" -nt "$file" ]]; then
    gzip -9 --keep --force --no-name "$file"
  fi
  if [[ ! "$file.br" -nt "$file" ]]; then
    quality=11
    [ "$(stat -c %s "$file")" -le $((4 * 1024 * 1024)) ] || quality=4
    brotli --quality="$quality" --keep --force --output="$file.br" "$file"
  fi
done
