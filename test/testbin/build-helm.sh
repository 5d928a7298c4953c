#!/usr/bin/env bash
# Builds helm from the wrapper module in helm/ into a cache outside the repo, keyed by a hash of the wrapper files,
# this script and the Go version, so a second run does nothing. A sibling of build.sh (not a step in it) so that
# changing Helm's version never invalidates the control-plane cache, and the reverse. Prints the cache directory on
# its last line.
#   build-helm.sh          build if needed, print the directory
#   build-helm.sh --path   print the directory if it is complete, else fail (tests never build: `make testbin` does)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SKILLPOD_TESTBIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skillpod/testbin}
key=$( (go version; cd "$here" && cat build-helm.sh helm/VERSION helm/go.mod helm/go.sum helm/tools.go) | sha256sum | cut -c1-16)
out="$cache_root/helm-$key"
if [ -f "$out/.complete" ]; then
  [ "${1:-}" = --path ] || echo "testbin: helm cached in $out" >&2
  echo "$out"
  exit 0
fi
if [ "${1:-}" = --path ]; then
  echo "testbin: helm is not built (expected in $out): run 'make testbin'" >&2
  exit 1
fi
rm -rf "$out.partial" && mkdir -p "$out.partial"
start=$(date +%s)
version=$(cat "$here/helm/VERSION")
echo "testbin: building helm $version (cold: a few minutes on 2 cores)" >&2
# Stamped as upstream's Makefile does, so `helm version` tells the truth (and the chart's kubeVersion checks see
# a real client).
(cd "$here/helm" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  -o "$out.partial/helm" helm.sh/helm/v4/cmd/helm)
"$out.partial/helm" version --short >&2
rm -rf "$out" && mv "$out.partial" "$out"
echo "$(( $(date +%s) - start ))" > "$out/.build-seconds"
touch "$out/.complete"
echo "testbin: helm built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out"
