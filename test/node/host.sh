#!/usr/bin/env bash
# What a test node changes on the machine, and how it is put back. Used by test/harness/node.ts, and by the
# watchdog when the test runner dies, so it is plain bash and idempotent.
#   host.sh acquire DIR CGROUP   before the kubelet starts: record what the kubelet and containerd will change,
#                                add the blackhole route for the service range, make the node's cgroup root
#   host.sh teardown DIR         stop everything the node in DIR started and undo what acquire did
# Several nodes may run at once (a `make cluster-up NODE=1` and a `make test`): the machine-wide changes are
# recorded once, by the first, and undone by the last (a holder file per node in $state).
set -uo pipefail
state=/run/skillpod-node
# The kubelet rewrites these at start (container_manager_linux.go, setupKernelTunables).
sysctls=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
# Paths the kubelet, containerd and the CNI library create whatever their configuration says.
var_paths=(/var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/containers /var/lib/cni/results /var/lib/cni
  /run/containerd/s /run/containerd /var/run/netns)
# The service range of test/harness/control-plane.ts: Pods get KUBERNETES_SERVICE_HOST=10.0.0.1, nothing may dial it.
service_range=${SKILLPOD_SERVICE_RANGE:-10.0.0.0/24}

log() { echo "node host: $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pidof_file() { cat "$1" 2>/dev/null || true; }

# A holder is stale when its kubelet and containerd are both gone and its directory is too.
prune_holders() {
  local h dir
  for h in "$state"/holders/*; do
    [ -e "$h" ] || continue
    dir=$(cat "$h")
    if [ ! -d "$dir" ]; then rm -f "$h"; fi
  done
}

acquire() {
  local dir=$1 cgroup=$2 id
  id=$(basename "$cgroup")
  mkdir -p "$state/holders"
  exec 9>"$state/lock"; flock 9
  prune_holders
  if [ -z "$(ls -A "$state/holders")" ]; then
    : > "$state/sysctls"
    for s in "${sysctls[@]}"; do echo "$s=$(sysctl -n "$s")" >> "$state/sysctls"; done
    : > "$state/created"
    for p in "${var_paths[@]}"; do [ -e "$p" ] || echo "$p" >> "$state/created"; done
    if ip route add blackhole "$service_range" 2>/dev/null; then echo "$service_range" > "$state/route"; else rm -f "$state/route"; fi
  fi
  echo "$dir" > "$state/holders/$id"
  flock -u 9
  # The node's own cgroup root in every v1 hierarchy (cpuset needs its cpus and mems before a task can join).
  local h
  for h in /sys/fs/cgroup/*/; do
    [ -f "$h/cgroup.procs" ] || continue
    mkdir -p "$h$cgroup"
    if [ -f "$h/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" > "$h$cgroup/cpuset.cpus"; cat "$h/cpuset.mems" > "$h$cgroup/cpuset.mems"
    fi
  done
}

# Every cgroup directory of the node, deepest first, in every hierarchy (v1 controllers and the v2 mount).
cgroup_dirs() {
  local cgroup=$1 h
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$h$cgroup" ] && find "$h$cgroup" -depth -mindepth 0 -type d
  done 2>/dev/null | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- | uniq
}

stop_pid() { # stop_pid PID: TERM its process group, wait up to 10 s, then KILL
  local pid=$1 i
  alive "$pid" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  for i in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
}

teardown() {
  local dir=$1 cgroup sock id pid i
  [ -d "$dir" ] || return 0
  cgroup=$(cat "$dir/cgroup" 2>/dev/null || true)
  sock=$dir/containerd.sock
  # 1. Nothing may start new containers: the scheduler and the kubelet go first.
  stop_pid "$(pidof_file "$dir/pids/kube-scheduler")"
  stop_pid "$(pidof_file "$dir/pids/kubelet")"
  # 2. While containerd still runs, let it stop and delete every task: the shims then exit, unmount the root
  #    filesystems and remove their sockets themselves.
  if alive "$(pidof_file "$dir/pids/containerd")" && [ -S "$sock" ]; then
    for id in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -a "$sock" -n k8s.io tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1
    done
    for id in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 10 ctr -a "$sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1
    done
    for id in $(ctr -a "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr -a "$sock" -n k8s.io containers delete "$id" >/dev/null 2>&1
    done
  fi
  # 3. Whatever is still in the node's cgroups (a container whose shim lost containerd), then the shims, found
  #    by the containerd address on their command line (they re-parent to PID 1, outside any group of ours).
  if [ -n "$cgroup" ]; then
    for i in 1 2 3; do
      local procs
      procs=$(cgroup_dirs "$cgroup" | while read -r d; do cat "$d/cgroup.procs" 2>/dev/null; done | sort -u)
      [ -z "$procs" ] && break
      kill -KILL $procs 2>/dev/null
      sleep 0.5
    done
  fi
  for pid in $(pgrep -f -- "-address $sock( |$)"); do kill -KILL "$pid" 2>/dev/null; done
  # A shim killed that way leaves its socket in /run/containerd/s, named by a hash of the containerd address,
  # the namespace and the task id (runtime/v2/shim/util_unix.go).
  if [ -d "$dir/containerd/state/io.containerd.runtime.v2.task/k8s.io" ]; then
    for id in $(ls "$dir/containerd/state/io.containerd.runtime.v2.task/k8s.io"); do
      rm -f "/run/containerd/s/$(printf '%s' "$sock/k8s.io/$id" | sha256sum | cut -d' ' -f1)"
    done
  fi
  stop_pid "$(pidof_file "$dir/pids/containerd")"
  # 4. Mounts under the node's directory (the kubelet's root bind mount, tmpfs of projected and secret volumes,
  #    sandbox /dev/shm, container root filesystems), deepest first.
  for i in 1 2 3; do
    local mounts
    mounts=$(awk -v d="$dir/" 'index($5, d) == 1 { print length($5) "\t" $5 }' /proc/self/mountinfo | sort -rn | cut -f2-)
    [ -z "$mounts" ] && break
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done <<< "$mounts"
  done
  # 5. The node's cgroups (only empty ones can go; a process still in one shows up as a failure here).
  if [ -n "$cgroup" ]; then
    for i in $(seq 20); do
      cgroup_dirs "$cgroup" | while read -r d; do rmdir "$d" 2>/dev/null; done
      [ -z "$(cgroup_dirs "$cgroup")" ] && break
      sleep 0.25
    done
    [ -z "$(cgroup_dirs "$cgroup")" ] || log "cgroups left behind: $(cgroup_dirs "$cgroup" | head -3 | tr '\n' ' ')"
  fi
  # 6. Symlinks the kubelet made in /var/log/containers for this node's pods.
  for l in /var/log/containers/*; do
    [ -L "$l" ] && case "$(readlink "$l")" in "$dir"/*) rm -f "$l" ;; esac
  done
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock 2>/dev/null
  # 7. The machine-wide changes, when this is the last node.
  if [ -n "$cgroup" ] && [ -d "$state/holders" ]; then
    exec 9>"$state/lock"; flock 9
    rm -f "$state/holders/$(basename "$cgroup")"
    prune_holders
    if [ -z "$(ls -A "$state/holders" 2>/dev/null)" ]; then
      local line
      while IFS= read -r line; do [ -n "$line" ] && sysctl -qw "$line"; done < "$state/sysctls"
      [ -f "$state/route" ] && ip route del blackhole "$(cat "$state/route")" 2>/dev/null
      # Paths that did not exist before the first node: removed if empty (rmdir never deletes content).
      local p
      while IFS= read -r p; do [ -n "$p" ] && rm -f "$p/kubelet.sock" 2>/dev/null; rmdir "$p" 2>/dev/null; done < "$state/created"
      rm -rf "$state"
    else
      flock -u 9
    fi
  fi
  if awk -v d="$dir/" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    log "mounts left under $dir; not removing it"
    return 1
  fi
  if [ -n "${SKILLPOD_KEEP_TEST_CLUSTER_DIR:-}" ]; then log "kept $dir"; else rm -rf "$dir"; fi
}

case "${1:-}" in
  acquire) acquire "$2" "$3" ;;
  teardown) teardown "$2" ;;
  *) echo "usage: host.sh acquire DIR CGROUP | teardown DIR" >&2; exit 2 ;;
esac
