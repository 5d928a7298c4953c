#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint, built from the Go module proxy once and cached outside the repo (as
# test/testbin does for Kubernetes). shellcheck is used by actionlint when it is on the PATH.
#   actionlint.sh          build if needed, then lint
#   actionlint.sh --path   print the binary's directory if it is built, else fail
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=v1.7.7
dir=${XDG_CACHE_HOME:-$HOME/.cache}/skillpod/actionlint-$version
if [ "${1:-}" = --path ]; then [ -x "$dir/actionlint" ] && echo "$dir" && exit 0; echo "actionlint is not built: run make lint-workflows" >&2; exit 1; fi
if [ ! -x "$dir/actionlint" ]; then
  echo "actionlint: building $version" >&2
  GOBIN="$dir" CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
cd "$root" && "$dir/actionlint" -no-color .github/workflows/*.yml
