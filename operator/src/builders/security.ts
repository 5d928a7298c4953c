// Security contexts that pass the `restricted` Pod Security Standard for every container, init containers and
// native sidecars included, whatever user the image declares (a numeric non-root user is always set).
import type { V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';

/** Distroless `nonroot` group; the agent and all sidecars share it so the /ipc sockets are reachable. */
export const DEFAULT_RUN_GID = 65532;

export function containerSecurityContext(uid: number, gid: number): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsGroup: gid,
    runAsNonRoot: true,
    runAsUser: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * Pod level: non-root and RuntimeDefault again (either level satisfies the standard; both say it twice), and
 * fsGroup so emptyDirs and the projected token are group-owned by the shared group. No runAsGroup here: every
 * container sets its own user and group, and containerd refuses to create the pod sandbox when the pod level
 * names a group without a user ("user group is specified without user"), as the test node showed.
 */
export function podSecurityContext(gid: number): V1PodSecurityContext {
  return {
    fsGroup: gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
