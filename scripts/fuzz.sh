#!/usr/bin/env bash
# make fuzz: runs every Go fuzz target of the repository for FUZZTIME each
# (default 1m). Their seed corpora (f.Add and testdata/fuzz/) run in every
# `make test`; a failing input found here is written to the package's
# testdata/fuzz/<Target>/ — commit it with the fix so it stays a test.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-1m}
GO=${GO:-go}
status=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "== $pkg $target ($FUZZTIME)"
    if ! "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" </dev/null; then
      status=1
    fi
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' app jobs plugins bench 2>/dev/null | sort)
exit $status
