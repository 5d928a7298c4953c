#!/usr/bin/env bash
# make e2e-kind: the whole path on a real node, for people with Docker (it cannot run in the sandbox this project is
# developed in). Creates a kind cluster, builds and loads the images, installs the chart, runs an AgentRun with
# the example agent and the kube-inspector skill to completion, checks its result and that its grants are gone,
# and deletes the cluster (KEEP_CLUSTER=1 keeps it).
# Needs docker, kind, kubectl and helm (v3.17+ or v4) on PATH; pulls registry.k8s.io/kubectl and curlimages/curl.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${KIND_CLUSTER:-skillpod-e2e}
tag=${IMAGE_TAG:-e2e}
ns=skillpod-e2e
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is not on PATH" >&2; exit 1; }
done
say() { printf '\n== %s\n' "$*"; }

say "kind cluster $cluster"
kind create cluster --name "$cluster" --wait 120s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
cleanup() {
  status=$?
  if [ $status -ne 0 ]; then
    echo "e2e-kind: FAILED; state of the run:" >&2
    kubectl -n "$ns" get agentruns,pods,roles,rolebindings,serviceaccounts,networkpolicies -o wide >&2 || true
    kubectl -n "$ns" describe agentrun e2e >&2 || true
    kubectl -n "$ns" logs -l skillpod.io/run=e2e --all-containers --prefix --tail 50 >&2 || true
    kubectl -n skillpod-system logs deployment/skillpod-operator --tail 100 >&2 || true
  fi
  if [ -z "${KEEP_CLUSTER:-}" ]; then kind delete cluster --name "$cluster"; fi
  exit $status
}
trap cleanup EXIT
kubectl config use-context "kind-$cluster" >/dev/null

say "images (tag $tag)"
docker build -t "ghcr.io/skillpod/operator:$tag" -f sidecar-images/operator/Dockerfile .
docker build -t "ghcr.io/skillpod/executor:$tag" sidecar-images/executor
docker build -t "ghcr.io/skillpod/example-agent:$tag" -f examples/agent/Dockerfile .
for image in operator executor example-agent; do
  kind load docker-image --name "$cluster" "ghcr.io/skillpod/$image:$tag"
done

say "chart"
kubectl create namespace skillpod-system
kubectl label namespace skillpod-system pod-security.kubernetes.io/enforce=restricted
# The first install creates the CRDs; the upgrade adds the built-in SkillPacks (Helm cannot create a CRD and
# objects of its kind in one release).
helm install skillpod helm/skillpod -n skillpod-system \
  --set image.tag="$tag" --set operator.executorImage.tag="$tag" --wait --timeout 5m
helm upgrade skillpod helm/skillpod -n skillpod-system --reuse-values --wait --timeout 5m
helm test skillpod -n skillpod-system --timeout 3m
kubectl wait skillpack --all --for=condition=Ready --timeout 120s

say "an AgentRun to the end"
kubectl create namespace "$ns"
kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=restricted
kubectl apply -n "$ns" -f - <<YAML
# Something for the agent to find (restricted, like everything in this namespace).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65535, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: registry.k8s.io/pause:3.10
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: skillpod.io/v1alpha1
kind: AgentRun
metadata:
  name: e2e
spec:
  task: List the pods of this namespace.
  agent:
    image: ghcr.io/skillpod/example-agent:$tag
  skills:
    - name: kube-inspector
  timeoutSeconds: 300
YAML
phase=""
for _ in $(seq 1 150); do
  phase=$(kubectl -n "$ns" get agentrun e2e -o jsonpath='{.status.phase}')
  case "$phase" in Succeeded|Failed) break ;; esac
  sleep 2
done
echo "phase: ${phase:-none}"
result=$(kubectl -n "$ns" get agentrun e2e -o jsonpath='{.status.result}')
printf '%s\n' "$result"
[ "$phase" = Succeeded ] || { echo "e2e-kind: the run did not succeed" >&2; exit 1; }
grep -q 'kube-inspector get pods -o wide' <<<"$result" || { echo "e2e-kind: the result does not show the tool call" >&2; exit 1; }
grep -q 'web-' <<<"$result" || { echo "e2e-kind: the agent did not see the pod web-…" >&2; exit 1; }

say "grants revoked"
for _ in $(seq 1 30); do
  left=$(kubectl -n "$ns" get serviceaccounts,roles,rolebindings,networkpolicies -l skillpod.io/run=e2e -o name)
  [ -z "$left" ] && break
  sleep 1
done
[ -z "$left" ] || { echo "e2e-kind: grants left after the run: $left" >&2; exit 1; }
kubectl -n "$ns" logs -l skillpod.io/run=e2e -c skill-kube-inspector --tail 5

say "e2e-kind passed"
