#!/usr/bin/env bash
# Builds promtool (Prometheus's rule checker) from the wrapper module in promtool/ (Go module proxy) into a cache
# outside the repo, keyed by a hash of the wrapper files, this script and the Go version, so a second run does
# nothing; the chart's PrometheusRule is checked with it
# (test/integration/monitoring.test.ts). A sibling of build.sh and build-helm.sh. Prints the cache directory on its
# last line.
#   build-promtool.sh          build if needed, print the directory
#   build-promtool.sh --path   print the directory if it is complete, else fail (tests never build: `make testbin` does)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SKILLPOD_TESTBIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skillpod/testbin}
key=$( (go version; cd "$here" && cat build-promtool.sh promtool/VERSION promtool/go.mod promtool/go.sum promtool/tools.go) | sha256sum | cut -c1-16)
out="$cache_root/promtool-$key"
if [ -f "$out/.complete" ]; then
  [ "${1:-}" = --path ] || echo "testbin: promtool cached in $out" >&2
  echo "$out"
  exit 0
fi
if [ "${1:-}" = --path ]; then
  echo "testbin: promtool is not built (expected in $out): run 'make testbin'" >&2
  exit 1
fi
rm -rf "$out.partial" && mkdir -p "$out.partial"
start=$(date +%s)
version=$(cat "$here/promtool/VERSION")
echo "testbin: building promtool $version (cold: several minutes on 2 cores)" >&2
# From the wrapper module in promtool/ (Prometheus's go.mod has replace directives, which `go install …@version`
# refuses), with its replaces and excludes copied.
(cd "$here/promtool" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.partial/promtool" \
  github.com/prometheus/prometheus/cmd/promtool)
"$out.partial/promtool" --version >&2 || true
rm -rf "$out" && mv "$out.partial" "$out"
echo "$(( $(date +%s) - start ))" > "$out/.build-seconds"
touch "$out/.complete"
echo "testbin: promtool built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out"
