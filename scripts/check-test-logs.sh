#!/usr/bin/env bash
# Checks that no secret handled during the test run (passwords, session cookies, API tokens)
# appears in any log the run wrote. The Rust and browser tests write their servers' logs and the
# secrets they used under the given directory (LAKELINE_TEST_LOG_DIR); see
# server/tests/common/logs.rs and tests/browser/lakeline.mjs.
set -euo pipefail
dir=${1:?usage: check-test-logs.sh DIR}
shopt -s nullglob globstar
logs=("$dir"/**/*.log)
secret_files=("$dir"/**/*.secrets)
if [ ${#logs[@]} -eq 0 ] || [ ${#secret_files[@]} -eq 0 ]; then
  echo "check-test-logs: no logs or no secrets under $dir: the tests did not record them" >&2
  exit 1
fi
secrets=$(mktemp)
trap 'rm -f "$secrets"' EXIT
# Short values would match by chance; every secret the tests make is longer.
cat "${secret_files[@]}" | awk 'length($0) >= 12' | sort -u > "$secrets"
found=0
while IFS= read -r secret; do
  if hits=$(grep -rlF -- "$secret" "${logs[@]}"); then
    echo "check-test-logs: a secret (${secret:0:6}…) appears in: $hits" >&2
    found=1
  fi
done < "$secrets"
lines=$(cat "${logs[@]}" | wc -l)
echo "check-test-logs: $(wc -l < "$secrets") secrets checked against ${#logs[@]} logs ($lines lines)"
exit $found
