#!/usr/bin/env bash
# Builds what the test node needs besides the testbin binaries, into a cache outside the repo keyed by a hash of
# the inputs, so a second run does nothing:
#   - kube-scheduler, from the same Kubernetes wrapper module as the testbin (only the node needs a scheduler:
#     without a node, the other suites rely on pods staying unscheduled);
#   - the test images, as OCI image tarballs that `ctr images import` reads: no registry, no Docker, no podman.
# Prints the cache directory (holding images.json) on its last line.
#   build.sh          build if needed, print the directory
#   build.sh --path   print the directory if it is complete, else fail (tests never build: `make node` does)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache_root=${SKILLPOD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skillpod/node}
busybox=${SKILLPOD_BUSYBOX:-/bin/busybox}
executor=$root/bin/skillpod-exec

fail() { echo "node build: $*" >&2; exit 1; }
[ -x "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' \
  || fail "a static busybox is needed at $busybox: apt-get install busybox-static"
if [ "${1:-}" != --path ]; then
  make -s -C "$root/sidecar-images/executor" build >&2
fi
[ -x "$executor" ] || fail "$executor is missing: run 'make executor'"
testbin=$(bash "$root/test/testbin/build.sh" --path)

# kube-scheduler: keyed like the testbin (Go version, wrapper module, this script).
sched_key=$( (go version; cd "$root/test/testbin" && cat kubernetes/VERSION kubernetes/go.mod kubernetes/go.sum; \
  sed -n '/^# scheduler-begin/,/^# scheduler-end/p' "$here/build.sh") | sha256sum | cut -c1-16)
sched_dir="$cache_root/scheduler-$sched_key"

# The operator image, cached on its own (it is the slow one): the operator's sources, the lock file, Node itself.
nodejs=$(readlink -f "$root/node_modules/.bin/node")
op_key=$( (cd "$root" && sed -n '/^# operator-begin/,/^# operator-end/p' "$here/build.sh"; cat package.json package-lock.json \
  tsconfig.json tsconfig.build.json; find operator/src -type f ! -name '*.test.ts' | sort | xargs sha256sum; sha256sum "$nodejs") \
  | sha256sum | cut -c1-16)
op_dir="$cache_root/operator-$op_key"

# Images: keyed by every file that goes into them.
img_key=$( (echo "$sched_key $op_key"; cat "$here/build.sh" "$here/agent.sh"; sha256sum "$busybox" "$executor" "$testbin/kubectl") \
  | sha256sum | cut -c1-16)
out="$cache_root/$img_key"
if [ -f "$out/.complete" ]; then
  [ "${1:-}" = --path ] || echo "node: cached in $out" >&2
  echo "$out"
  exit 0
fi
[ "${1:-}" = --path ] && fail "the node's images are not built (expected in $out): run 'make node'"
start=$(date +%s)

# scheduler-begin
if [ ! -f "$sched_dir/.complete" ]; then
  k8s_version=$(cat "$root/test/testbin/kubernetes/VERSION")
  minor=${k8s_version#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "node: building kube-scheduler $k8s_version" >&2
  mkdir -p "$sched_dir.partial"
  (cd "$root/test/testbin/kubernetes" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" \
    -o "$sched_dir.partial/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler)
  rm -rf "$sched_dir" && mv "$sched_dir.partial" "$sched_dir" && touch "$sched_dir/.complete"
fi
# scheduler-end

rm -rf "$out.partial" && mkdir -p "$out.partial"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarc() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# layer DIR: an uncompressed layer blob made from DIR; sets layer_digest and layer_size for the next images.
layer() {
  tarc -C "$1" -cf "$work/layer.tar" .
  layer_digest=$(sha "$work/layer.tar"); layer_size=$(stat -c %s "$work/layer.tar")
  mv "$work/layer.tar" "$work/layer-$layer_digest"
}
# image NAME REPO CONFIG_JSON: an OCI image layout tarball $out/NAME.tar holding one image, named REPO:<hash>.
# The tag is the manifest's digest, so a changed image gets a new name and no node ever runs a stale one.
image() {
  local name=$1 repo=$2 config=$3 dir="$work/image-$1"
  mkdir -p "$dir/blobs/sha256" && ln "$work/layer-$layer_digest" "$dir/blobs/sha256/$layer_digest"
  printf '%s' "$config" > "$work/config.json"
  local cd cs md ms tag
  cd=$(sha "$work/config.json"); cs=$(stat -c %s "$work/config.json"); mv "$work/config.json" "$dir/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$cs" "$layer_digest" "$layer_size" > "$work/manifest.json"
  md=$(sha "$work/manifest.json"); ms=$(stat -c %s "$work/manifest.json"); mv "$work/manifest.json" "$dir/blobs/sha256/$md"
  tag=${md:0:12}
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s:%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$md" "$ms" "$repo" "$tag" "$tag" > "$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
  tarc -C "$dir" -cf "$out.partial/$name.tar" oci-layout index.json blobs
  images+=("\"$name\": \"$repo:$tag\"")
}
# config ENTRYPOINT_JSON ENV_JSON: an image config with one layer (the last one made).
config() {
  printf '{"architecture":"amd64","os":"linux","config":{"User":"65532:65532","Entrypoint":%s,"Env":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$1" "$2" "$layer_digest"
}
images=()

# busybox: a static busybox as /bin/busybox with a link per applet in /bin (the executor runs a tool's command
# with execve, so `echo` must be a file). It serves as the sandbox ("pause") image, whose entrypoint only has to
# block, as a skill image with a shell, and, with a small script, as the agent image for tests.
mkdir -p "$work/bb/bin" && cp "$busybox" "$work/bb/bin/busybox"
for applet in $("$busybox" --list); do [ "$applet" = busybox ] || ln -s busybox "$work/bb/bin/$applet"; done
cp "$here/agent.sh" "$work/bb/bin/skillpod-test-agent" && chmod 0755 "$work/bb/bin/skillpod-test-agent"
layer "$work/bb"
image pause skillpod.local/pause "$(config '["/bin/busybox","sleep","2147483647"]' '["PATH=/bin"]')"
image shell skillpod.local/shell "$(config '["/bin/sh"]' '["PATH=/bin"]')"
image agent skillpod.local/test-agent "$(config '["/bin/skillpod-test-agent"]' '["PATH=/skillpod/bin:/bin"]')"

# executor: FROM scratch + the static executor at /skillpod-exec (the contract of design.md section 4).
mkdir -p "$work/ex" && cp "$executor" "$work/ex/skillpod-exec"
layer "$work/ex"
image executor skillpod.local/executor "$(config '["/skillpod-exec"]' '[]')"

# kubectl: FROM scratch + the static kubectl of the testbin (the server's own version).
mkdir -p "$work/kc/bin" && cp "$testbin/kubectl" "$work/kc/bin/kubectl"
layer "$work/kc"
image kubectl skillpod.local/kubectl "$(config '["/bin/kubectl"]' '["PATH=/bin"]')"

# operator-begin
# operator: FROM scratch + Node (the repository's own Node 24, stripped) with the shared libraries it links, the
# operator compiled by tsc, and its production dependencies (what `npm ls --omit=dev` lists). Entry point as in
# sidecar-images/operator/Dockerfile.
if [ ! -f "$op_dir/.complete" ]; then
  echo "node: building the operator image" >&2
  rm -rf "$op_dir.partial" && mkdir -p "$op_dir.partial"
  op=$work/op
  mkdir -p "$op/usr/local/bin" "$op/app" "$op/tmp"
  strip -o "$op/usr/local/bin/node" "$nodejs"
  for lib in $(ldd "$nodejs" | grep -oE '/[^ ]+\.so[^ ]*'); do
    mkdir -p "$op$(dirname "$lib")" && cp -L "$lib" "$op$lib"
  done
  (cd "$root" && node_modules/.bin/node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$op/app/dist")
  cp "$root/package.json" "$op/app/"
  # Each production package without its nested node_modules: the packages in there are listed themselves.
  for pkg in $(cd "$root" && npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$root/||" | grep '^node_modules/' | sort -u); do
    tar -C "$root" -cf - --exclude="$pkg/node_modules" "$pkg" | tar -xf - -C "$op/app"
  done
  layer "$op"
  saved_images=("${images[@]}"); images=()
  saved_out=$out; out=$op_dir
  image operator skillpod.local/operator "$(config '["/usr/local/bin/node","--max-semi-space-size=4","--heap-growing-percent=50","--enable-source-maps","/app/dist/main.js"]' \
    '["NODE_ENV=production","TMPDIR=/tmp"]')"
  echo "${images[0]}" > "$op_dir.partial/name"
  images=("${saved_images[@]}"); out=$saved_out
  rm -rf "$op_dir" && mv "$op_dir.partial" "$op_dir" && touch "$op_dir/.complete"
fi
ln -s "$op_dir/operator.tar" "$out.partial/operator.tar"
images+=("$(cat "$op_dir/name")")
# operator-end

{
  echo '{'
  echo "  \"scheduler\": \"$sched_dir/kube-scheduler\","
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
echo "node: built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out"
