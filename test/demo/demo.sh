#!/usr/bin/env bash
# `make demo`: from a clone with `make setup` done to a real agent's result, on this machine, without Docker.
#   1. the local control plane with a real node (make cluster-up NODE=1: builds what it needs the first time); the
#      node's own admission policy puts run pods in the host network (test/harness/node-host-network.ts)
#   2. every image, built locally and imported into the node: the operator and the executor (test/node/build.sh),
#      the example agent and the built-in packs' tools under the exact references they name (test/demo/images.sh)
#   3. the Helm chart: operator (from its image), admission policies, grant policy, built-in SkillPacks in one
#      `helm upgrade --install`, with the local node's adaptations (testNode: the operator's pod in the host network,
#      API server on loopback; the operator-bounds binding leaving out the demo namespace's label)
#   4. a namespace for the run: the node runs pods in the host network, so it cannot enforce `restricted`
#   5. examples/runs/inspect-namespace.yaml applied unchanged, 6. `kubectl wait` for its end,
#   7. its result and the audit lines of its skill; the cluster stays up.
# Each step says what it does; a failure names the step and where to look. Re-running redoes the run only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
NODEJS=$root/node_modules/.bin/node
RELEASE=skillpod
OPERATOR_NS=skillpod-system
DEMO_NS=${SKILLPOD_DEMO_NAMESPACE:-skillpod-demo}
RUN_FILE=examples/runs/inspect-namespace.yaml
RUN=inspect-namespace
SKILL=kube-inspector
WAIT=${SKILLPOD_DEMO_WAIT:-330s}
TEST_NODE_LABEL=skillpod.io/test-node-host-network
export KUBECONFIG=$root/.skillpod/kubeconfig

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
current=""
step() { current="$1"; echo; echo "${bold}==> [$1] $2${plain}"; }
trap 'status=$?; if [ $status -ne 0 ]; then echo; echo "${bold}make demo failed at step [$current]${plain} (exit $status)." >&2; hint >&2; fi' EXIT
hint() {
  case "$current" in
    1/7) echo "  The control plane or the node did not start: see .skillpod/cluster/logs/ and .skillpod/cluster/node/logs/;"
         echo "  the node needs root, containerd, runc and the CNI plugins (make setup). docs/testing.md, 'The node'." ;;
    2/7) echo "  An image did not build or import: make node rebuilds them; ctr -a .skillpod/cluster/node/containerd.sock -n k8s.io images ls" ;;
    3/7) echo "  The chart did not install or the operator did not become ready:"
         echo "    kubectl -n $OPERATOR_NS get pods; kubectl -n $OPERATOR_NS logs deployment/skillpod-operator; kubectl get skillpacks" ;;
    5/7|6/7) echo "  The run did not finish: kubectl -n $DEMO_NS describe agentrun $RUN; kubectl -n $DEMO_NS get pods; kubectl -n $DEMO_NS get events" ;;
    *) ;;
  esac
}
json() { "$NODEJS" -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8')); const v=($1); process.stdout.write(v===undefined||v===null?'':String(v))"; }

step 1/7 "the local control plane with a real node (make cluster-up NODE=1; the first time builds it, ~15 min on 2 cores)"
make --no-print-directory testbin executor
# The node's images, built once here and handed to the node as they are (SKILLPOD_NODE_BUILD): what starts is what
# was just built, even while the sources change beside it.
SKILLPOD_NODE_BUILD=$(bash test/node/build.sh)
export SKILLPOD_NODE_BUILD
"$NODEJS" test/harness/cli.ts up --node
state=.skillpod/cluster/state.json
[ -f "$state" ] || { echo "no $state after make cluster-up" >&2; exit 1; }
node_dir=$(json 'd.node && d.node.dir' < "$state")
[ -n "$node_dir" ] || { echo "the control plane is up without a node: make cluster-down, then make demo" >&2; exit 1; }
api_port=$(json 'new URL(d.apiServerUrl).port' < "$state")
operator_image=$(json 'd.node.images.operator' < "$state")
executor_image=$(json 'd.node.images.executor' < "$state")
node_build=$(json 'd.node.buildDir' < "$state")
helm_bin=$(bash test/testbin/build-helm.sh --path)/helm
kubectl=.skillpod/bin/kubectl
PATH=$root/.skillpod/bin:$(dirname "$helm_bin"):$PATH

step 2/7 "images: the operator and executor (test/node/build.sh), the example agent and the packs' tools (test/demo/images.sh), imported into the node"
demo_build=$(bash test/demo/images.sh)
ctr_import() { ctr -a "$node_dir/containerd.sock" -n k8s.io images import "$1" >/dev/null; }
echo "operator  $operator_image"; ctr_import "$node_build/operator.tar"
echo "executor  $executor_image (imported at node start)"
for role in example-agent kubectl helm curl; do
  echo "$(printf '%-9s' "$role") $(json "d.images['$role']" < "$demo_build/images.json")"
  ctr_import "$demo_build/$role.tar"
done

step 3/7 "the Helm chart: operator, policies and built-in SkillPacks in one helm upgrade --install"
# The node runs pods in the host network: the operator's namespace must allow it (make install labels it restricted).
"$kubectl" create namespace "$OPERATOR_NS" --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
"$kubectl" label namespace "$OPERATOR_NS" --overwrite pod-security.kubernetes.io/enforce=privileged >/dev/null
values=$("$helm_bin" get values "$RELEASE" -n "$OPERATOR_NS" -o json 2>/dev/null || true)
port=$([ -n "$values" ] && echo "$values" | json 'd.service && d.service.port' || true)
if [ -z "$port" ]; then port=$("$NODEJS" -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"); fi
split() { echo "${1%:*}"; }; tag() { echo "${1##*:}"; }
"$helm_bin" upgrade --install "$RELEASE" helm/skillpod -n "$OPERATOR_NS" \
  --set image.repository="$(split "$operator_image")" --set image.tag="$(tag "$operator_image")" --set image.pullPolicy=Never \
  --set operator.executorImage.repository="$(split "$executor_image")" --set operator.executorImage.tag="$(tag "$executor_image")" \
  --set testNode.enabled=true --set testNode.apiServer="127.0.0.1:$api_port" --set service.port="$port" \
  --set tests.enabled=false 2>&1 | grep -v 'found symbolic link' | sed -n '1,6p'
"$kubectl" -n "$OPERATOR_NS" rollout status deployment/skillpod-operator --timeout=180s
"$kubectl" wait --for=condition=Ready skillpack --all --timeout=60s >/dev/null
"$kubectl" get skillpacks

step 4/7 "namespace $DEMO_NS for the run (privileged: pods on this node share the host network, which restricted refuses)"
"$kubectl" create namespace "$DEMO_NS" --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
"$kubectl" label namespace "$DEMO_NS" --overwrite pod-security.kubernetes.io/enforce=privileged "$TEST_NODE_LABEL=true" >/dev/null

step 5/7 "kubectl -n $DEMO_NS apply -f $RUN_FILE (unchanged)"
"$kubectl" -n "$DEMO_NS" delete agentrun "$RUN" --ignore-not-found --wait=true >/dev/null
"$kubectl" -n "$DEMO_NS" apply -f "$RUN_FILE"

step 6/7 "kubectl wait until the run ends (status.completionTime is set, success or failure; at most $WAIT)"
"$kubectl" -n "$DEMO_NS" wait agentrun/"$RUN" --timeout="$WAIT" \
  --for=jsonpath='{.status.completionTime}'
phase=$("$kubectl" -n "$DEMO_NS" get agentrun "$RUN" -o jsonpath='{.status.phase}')
pod=$("$kubectl" -n "$DEMO_NS" get agentrun "$RUN" -o jsonpath='{.status.podName}')

step 7/7 "the result"
"$kubectl" -n "$DEMO_NS" get agentrun "$RUN"
echo; echo "${bold}status.result:${plain}"
"$kubectl" -n "$DEMO_NS" get agentrun "$RUN" -o jsonpath='{.status.result}'; echo
echo; echo "${bold}audit lines of skill $SKILL (kubectl -n $DEMO_NS logs $pod -c skill-$SKILL):${plain}"
"$kubectl" -n "$DEMO_NS" logs "$pod" -c "skill-$SKILL" | grep '"tool"' || echo "(none)"
if [ "$phase" != Succeeded ]; then
  echo; "$kubectl" -n "$DEMO_NS" get agentrun "$RUN" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}'
  echo "the run ended $phase" >&2
  exit 1
fi
current=""
cat <<EOF

${bold}Done: a real agent ran with a real skill on a real node.${plain} The cluster stays up. Look around:
  export KUBECONFIG=$KUBECONFIG PATH=$root/.skillpod/bin:\$PATH
  kubectl get skillpacks
  kubectl -n $DEMO_NS get agentruns,pods
  kubectl -n $DEMO_NS describe agentrun $RUN
  kubectl -n $OPERATOR_NS logs deployment/skillpod-operator
  helm list -n $OPERATOR_NS
  kubectl -n $DEMO_NS apply -f examples/runs/switch-skills.yaml     # more in examples/runs/
Stop everything (control plane, node, containers; nothing stays behind):
  make cluster-down
EOF
