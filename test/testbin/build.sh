#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kubectl, kubelet) from the
# wrapper modules beside this script into a cache outside the repo, keyed by a hash of the wrapper files and the
# Go version, so a second run does nothing. Prints the cache directory on its last line.
#   build.sh          build if needed, print the directory
#   build.sh --path   print the directory if it is complete, else fail (tests never build: `make testbin` does)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SKILLPOD_TESTBIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skillpod/testbin}
key=$( (go version; cd "$here" && cat build.sh kubernetes/VERSION kubernetes/go.mod kubernetes/go.sum kubernetes/tools.go \
  etcd/VERSION etcd/go.mod etcd/go.sum etcd/tools.go) | sha256sum | cut -c1-16)
out="$cache_root/$key"
if [ -f "$out/.complete" ]; then
  [ "${1:-}" = --path ] || echo "testbin: cached in $out" >&2
  echo "$out"
  exit 0
fi
if [ "${1:-}" = --path ]; then
  echo "testbin: control-plane binaries are not built (expected in $out): run 'make testbin'" >&2
  exit 1
fi
mkdir -p "$out.partial"
start=$(date +%s)

k8s_version=$(cat "$here/kubernetes/VERSION")
minor=${k8s_version#v1.}; minor=${minor%%.*}
# Stamp the version as upstream's hack/lib/version.sh does, so /version and `kubectl version` tell the truth.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
echo "testbin: building Kubernetes $k8s_version (cold: 20-40 min on 2 cores; warm: a few minutes)" >&2
# One go build for every Kubernetes command, so the packages they share compile once.
(cd "$here/kubernetes" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.partial/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet)

etcd_version=$(cat "$here/etcd/VERSION")
echo "testbin: building etcd $etcd_version" >&2
(cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_version" \
  -o "$out.partial/etcd" go.etcd.io/etcd/server/v3)

rm -rf "$out" && mv "$out.partial" "$out"
echo "$(( $(date +%s) - start ))" > "$out/.build-seconds"
touch "$out/.complete"
echo "testbin: built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out"
