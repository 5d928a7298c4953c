#!/usr/bin/env bash
# Builds, without Docker or a registry, the images `make demo` and the examples' end-to-end tests run on the local
# node, under the exact references the examples and built-in SkillPacks name, so they run there as written:
#   example-agent  ghcr.io/skillpod/example-agent:v0.1.0  Node 24 (the repository's, stripped) + examples/agent and
#                                                         clients/typescript, as examples/agent/Dockerfile has them
#   kubectl        registry.k8s.io/kubectl:v1.36.3        the testbin's static kubectl (the server's own version)
#   helm           alpine/helm:4.3.0                      the testbin's static helm (built from source) and busybox
#   curl           curlimages/curl:8.16.0                 this machine's curl with the shared libraries it links
# They are local stand-ins with the same commands at the same paths, not the published images: the published ones
# are pulled from their registries in a real cluster. Output: OCI image tarballs (`ctr images import` reads them)
# in a cache keyed by every input, and images.json (role -> reference) on the last line's directory.
#   images.sh          build if needed, print the directory
#   images.sh --path   print the directory if it is complete, else fail (tests never build: `make node` does)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache_root=${SKILLPOD_DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skillpod/demo}
fail() { echo "demo images: $*" >&2; exit 1; }

# The references, read from the files that name them: a pack or example that moves to another image moves here too.
ref_of() { sed -n 's/^  image: *//p' "$1" | head -n1; }
agent_ref=$(sed -n 's/^    image: *//p' "$root/examples/runs/inspect-namespace.yaml" | head -n1)
kubectl_ref=$(ref_of "$root/skillpacks/kube-inspector.yaml")
helm_ref=$(ref_of "$root/skillpacks/helm.yaml")
curl_ref=$(ref_of "$root/skillpacks/http-fetch.yaml")
for r in "$agent_ref" "$kubectl_ref" "$helm_ref" "$curl_ref"; do [ -n "$r" ] || fail "an image reference is missing in examples/ or skillpacks/"; done

nodejs=$(readlink -f "$root/node_modules/.bin/node")
[ -x "$nodejs" ] || fail "Node 24 is missing: run make setup"
testbin=$(bash "$root/test/testbin/build.sh" --path) || fail "the testbin is not built: run make testbin"
helm_dir=$(bash "$root/test/testbin/build-helm.sh" --path) || fail "helm is not built: run make testbin"
curl_bin=$(command -v curl) || fail "curl is missing: apt-get install curl"
busybox_bin=$(command -v busybox) || fail "busybox is missing: apt-get install busybox (the helm stand-in's /bin/sh)"
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac

key=$( (echo "$agent_ref $kubectl_ref $helm_ref $curl_ref $arch"; cat "$here/images.sh"; \
  cd "$root" && sha256sum examples/agent/package.json examples/agent/src/agent.ts clients/typescript/package.json \
  clients/typescript/src/index.ts "$nodejs" "$testbin/kubectl" "$helm_dir/helm" "$curl_bin" "$busybox_bin") | sha256sum | cut -c1-16)
out="$cache_root/$key"
if [ -f "$out/.complete" ]; then
  [ "${1:-}" = --path ] || echo "demo images: cached in $out" >&2
  echo "$out"
  exit 0
fi
[ "${1:-}" = --path ] && fail "the demo images are not built (expected in $out): run 'make node'"
start=$(date +%s)
rm -rf "$out.partial" && mkdir -p "$out.partial"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarc() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
images=()

# The name containerd's CRI looks an image up by: Docker Hub references in full (alpine/helm:4.3.0 is
# docker.io/alpine/helm:4.3.0, busybox:1 is docker.io/library/busybox:1).
normalized() {
  local ref=$1 first=${1%%/*}
  if [ "$first" = "$ref" ]; then echo "docker.io/library/$ref"
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then echo "docker.io/$ref"
  else echo "$ref"; fi
}
# image NAME REF DIR ENTRYPOINT_JSON ENV_JSON: one layer from DIR, an OCI layout tarball $out/NAME.tar named REF.
image() {
  local name=$1 ref=$2 dir=$3 entrypoint=$4 env=$5 img="$work/image-$1"
  mkdir -p "$img/blobs/sha256"
  tarc -C "$dir" -cf "$work/layer.tar" .
  local ld ls cd cs md ms
  ld=$(sha "$work/layer.tar"); ls=$(stat -c %s "$work/layer.tar"); mv "$work/layer.tar" "$img/blobs/sha256/$ld"
  printf '{"architecture":"%s","os":"linux","config":{"User":"65532:65532","Entrypoint":%s,"Env":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$entrypoint" "$env" "$ld" > "$work/config.json"
  cd=$(sha "$work/config.json"); cs=$(stat -c %s "$work/config.json"); mv "$work/config.json" "$img/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$cs" "$ld" "$ls" > "$work/manifest.json"
  md=$(sha "$work/manifest.json"); ms=$(stat -c %s "$work/manifest.json"); mv "$work/manifest.json" "$img/blobs/sha256/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$md" "$ms" "$(normalized "$ref")" "${ref##*:}" > "$img/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$img/oci-layout"
  tarc -C "$img" -cf "$out.partial/$name.tar" oci-layout index.json blobs
  images+=("\"$name\": \"$ref\"")
}
# with_libs BINARY DEST_ROOT: the shared libraries BINARY links (and the dynamic loader), at their paths.
with_libs() {
  for lib in $(ldd "$1" | grep -oE '/[^ ]+\.so[^ ]*'); do
    mkdir -p "$2$(dirname "$lib")" && cp -L "$lib" "$2$lib"
  done
}
path_env='"PATH=/usr/local/bin:/usr/bin:/bin"'

# example agent: as examples/agent/Dockerfile lays it out (/app/...), on the repository's Node 24.
a=$work/agent
mkdir -p "$a/usr/local/bin" "$a/app/clients/typescript/src" "$a/app/examples/agent/src" "$a/tmp"
strip -o "$a/usr/local/bin/node" "$nodejs"
with_libs "$nodejs" "$a"
cp "$root/clients/typescript/package.json" "$a/app/clients/typescript/"
cp "$root/clients/typescript/src/index.ts" "$a/app/clients/typescript/src/"
cp "$root/examples/agent/package.json" "$a/app/examples/agent/"
cp "$root/examples/agent/src/agent.ts" "$a/app/examples/agent/src/"
image example-agent "$agent_ref" "$a" '["/usr/local/bin/node","/app/examples/agent/src/agent.ts"]' \
  "[$path_env,\"NODE_OPTIONS=--disable-warning=ExperimentalWarning\"]"

# kubectl: registry.k8s.io/kubectl has it at /bin/kubectl.
k=$work/kubectl
mkdir -p "$k/bin" && cp "$testbin/kubectl" "$k/bin/kubectl"
image kubectl "$kubectl_ref" "$k" '["/bin/kubectl"]' "[$path_env]"

# helm: alpine/helm has it at /usr/bin/helm, on Alpine's busybox: the helm pack's tools run a short sh script (a
# private copy of /workspace paths without symlinks) with sh, cp, find, mktemp, rm, mkdir and grep.
h=$work/helm
mkdir -p "$h/usr/bin" "$h/bin" "$h/tmp" && cp "$helm_dir/helm" "$h/usr/bin/helm"
with_libs "$busybox_bin" "$h"
cp "$busybox_bin" "$h/bin/busybox"
for t in sh cp find mktemp rm mkdir grep; do ln -s busybox "$h/bin/$t"; done
image helm "$helm_ref" "$h" '["/usr/bin/helm"]' "[$path_env]"

# curl: curlimages/curl has it at /usr/bin/curl; here with its libraries and the machine's CA bundle.
c=$work/curl
mkdir -p "$c/usr/bin" "$c/tmp" && cp "$curl_bin" "$c/usr/bin/curl"
with_libs "$curl_bin" "$c"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then mkdir -p "$c/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$c/etc/ssl/certs/"; fi
image curl "$curl_ref" "$c" '["/usr/bin/curl"]' "[$path_env]"

{
  echo '{'
  echo '  "images": {'
  for i in "${!images[@]}"; do
    sep=,; [ "$i" -eq $(( ${#images[@]} - 1 )) ] && sep=
    echo "    ${images[$i]}$sep"
  done
  echo '  }'
  echo '}'
} > "$out.partial/images.json"
rm -rf "$out" && mv "$out.partial" "$out"
touch "$out/.complete"
echo "demo images: built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out"
