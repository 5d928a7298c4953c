#!/usr/bin/env bash
# Plays the kubelet for one AgentRun on the local control plane (`make cluster-up` runs no kubelet, so pods never
# start by themselves): marks the run's pod Running with every skill sidecar ready, then ends the agent with an
# exit code and a termination message, as a real kubelet would report them. Uses kubectl from PATH.
#   examples/local/play-kubelet.sh <namespace> <agentrun> [exit code, default 0] [message]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 <namespace> <agentrun> [exit code] [message]" >&2; exit 2; }
ns=$1
run=$2
code=${3:-0}
message=${4:-finished by play-kubelet.sh}
json_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n' ' '; }

pod=$(kubectl -n "$ns" get agentrun "$run" -o jsonpath='{.status.podName}')
[ -n "$pod" ] || { echo "AgentRun $ns/$run has no pod yet (kubectl -n $ns describe agentrun $run)" >&2; exit 1; }
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
container() { # name ready state-json
  printf '{"name":"%s","image":"local","imageID":"","ready":%s,"started":%s,"restartCount":0,"state":%s}' "$1" "$2" "$2" "$3"
}
init=$(container skillpod-install false '{"terminated":{"exitCode":0,"reason":"Completed"}}')
for sidecar in $(kubectl -n "$ns" get pod "$pod" -o jsonpath='{range .spec.initContainers[*]}{.name}{" "}{end}'); do
  case "$sidecar" in skill-*) init="$init,$(container "$sidecar" true "{\"running\":{\"startedAt\":\"$now\"}}")" ;; esac
done

# Running: the install container done, every sidecar ready, the agent started.
kubectl -n "$ns" patch pod "$pod" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",\"startTime\":\"$now\",
  \"initContainerStatuses\":[$init],\"containerStatuses\":[$(container agent true "{\"running\":{\"startedAt\":\"$now\"}}")]}}" >/dev/null
sleep 2
# The agent ends; its termination message becomes the run's status.result. Then, as a kubelet does once the
# sidecars have stopped, the pod ends too (until then the run's NetworkPolicy stays, denying everything).
reason=Completed phase=Succeeded
[ "$code" = 0 ] || { reason=Error; phase=Failed; }
kubectl -n "$ns" patch pod "$pod" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"$phase\",\"containerStatuses\":[$(container agent false \
  "{\"terminated\":{\"exitCode\":$code,\"reason\":\"$reason\",\"message\":\"$(json_escape "$message")\",\"startedAt\":\"$now\",\"finishedAt\":\"$now\"}}")]}}" >/dev/null
echo "pod $ns/$pod: agent exited $code"
