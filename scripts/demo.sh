#!/usr/bin/env bash
# demo.sh THAW - what `make demo` runs.
set -eu
thaw=${1:-build/cli/thaw}
echo "== thaw check on the reference scenarios"
"$thaw" check scenarios/*.yaml
