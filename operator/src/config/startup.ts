// Start-up checks of the operator, each failing with one line that names the setting to change: the kubeconfig,
// the API server it points at, and the address of /healthz, /readyz and /metrics. main.ts prints the line and exits
// (no stack trace: these are configuration errors, not bugs).
import { classifyError } from '../runtime/errors.ts';
import { KubeHttp } from '../runtime/kube-http.ts';
import { kubeConfigLocation, loadKubeConfig as loadKubeConfigFiles, type KubeConfigData, type KubeConfigSource } from '../runtime/kubeconfig.ts';

/** Exit code of every start-up error that a setting fixes (the same as an invalid flag). */
export const STARTUP_EXIT_CODE = 2;

/** A start-up error: `message` is the whole line to print. */
export class StartupError extends Error {
  /** The setting to change, e.g. `KUBECONFIG` or `--server-bind-address (SKILLPOD_SERVER_BIND_ADDRESS)`. */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.setting = setting;
  }
}

/** Where the kubeconfig comes from, in words, for error messages. */
export function kubeConfigSource(env: NodeJS.ProcessEnv): string {
  const location = kubeConfigLocation({ env });
  switch (location.kind) {
    case 'files': return location.from === 'KUBECONFIG' ? `KUBECONFIG=${env.KUBECONFIG}` : location.files[0]!;
    case 'in-cluster': return 'the in-cluster ServiceAccount (KUBERNETES_SERVICE_HOST)';
    case 'none': return 'no kubeconfig';
  }
}

/**
 * The kubeconfig as client-go finds it (KUBECONFIG, ~/.kube/config, in-cluster), refusing what client-node would
 * silently turn into http://localhost:8080: no kubeconfig at all, or one without a current cluster.
 */
export async function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): Promise<KubeConfigData> {
  const source = kubeConfigSource(env);
  const setting = 'KUBECONFIG';
  if (source === 'no kubeconfig') {
    throw new StartupError(setting, 'no kubeconfig: KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod; ' +
      'set KUBECONFIG to a kubeconfig file (make cluster-up writes .skillpod/kubeconfig)');
  }
  let kc: KubeConfigData;
  try {
    kc = await loadKubeConfigFiles({ env });
  } catch (err) {
    throw new StartupError(setting, `cannot load the kubeconfig (${source}): ${oneLine(err)}; set KUBECONFIG to a valid kubeconfig file`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    const context = kc.getCurrentContext();
    throw new StartupError(setting, `the kubeconfig (${source}) has no usable current context${context ? ` (current-context "${context}" names no cluster with a server)` : ''}; ` +
      'set KUBECONFIG to a valid kubeconfig file or fix its current-context');
  }
  return kc;
}

export interface ApiServerCheckOptions {
  /** How long to keep trying while the API server does not answer (network errors, 5xx). */
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * GET /version until it answers or the time is up. Refused credentials (401, 403) and TLS errors fail at once:
 * waiting does not fix them. Resolves with the server's gitVersion.
 */
export async function checkApiServer(kc: KubeConfigSource, options: ApiServerCheckOptions): Promise<string> {
  const server = kc.getCurrentCluster()?.server ?? '(none)';
  const source = kubeConfigSource(options.env ?? process.env);
  // A client of its own, without the rate limiter: made before the operator's clients exist, closed after.
  const http = new KubeHttp(kc);
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 1000;
  let last: string;
  try {
    for (;;) {
      const left = deadline - Date.now();
      try {
        const version = await http.request<{ gitVersion: string }>({ path: '/version', timeoutMs: Math.max(1000, Math.min(left, 10_000)) });
        return version.gitVersion;
      } catch (err) {
        const info = classifyError(err);
        if (info.code === 401 || info.code === 403) {
          throw new StartupError('KUBECONFIG', `the API server ${server} refused the credentials of ${source} (${info.code}): ${info.message}; ` +
            'set KUBECONFIG to a kubeconfig whose user may read /version');
        }
        const tls = tlsProblem(err);
        if (tls) {
          throw new StartupError('KUBECONFIG', `cannot connect to the API server ${server} from ${source}: TLS: ${tls}; ` +
            'set KUBECONFIG to a kubeconfig with the server\'s certificate authority');
        }
        last = info.reason && info.kind === 'Network' ? `${info.reason}: ${info.message}` : info.message;
      }
      // The last attempt is made at the deadline, not an interval before it: the error comes after the timeout it names.
      const wait = Math.min(interval, deadline - Date.now());
      if (wait <= 0) break;
      await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await http.close();
  }
  throw new StartupError('KUBECONFIG', `cannot reach the API server ${server} (from ${source}) within ${Math.round(options.timeoutMs / 1000)}s: ` +
    `${last}; set KUBECONFIG to the cluster to use (make cluster-up starts a local one), or raise --startup-timeout-seconds`);
}

export const LISTEN_SETTING = '--server-bind-address (SKILLPOD_SERVER_BIND_ADDRESS)';

/** The line for an error of `server.listen()`: the address and what to set instead. */
export function listenErrorMessage(err: unknown, bindAddress: string): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const setting = LISTEN_SETTING;
  const what = `cannot serve /healthz, /readyz and /metrics on ${bindAddress}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${what}: the address is already in use (another process listens there); set ${setting} to a free HOST:PORT, e.g. 127.0.0.1:8081`;
    case 'EACCES':
      return `${what}: permission denied (ports below 1024 need privileges); set ${setting} to a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `${what}: no interface of this machine has that address; set ${setting} to an address of this machine, e.g. 127.0.0.1:8080`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${what}: the host does not resolve; set ${setting} to an IP address and port, e.g. 127.0.0.1:8080`;
    default:
      return undefined;
  }
}

function tlsProblem(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (/^(ERR_TLS_|ERR_SSL_)/.test(code) || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH/.test(code))) {
      return `${code}: ${oneLine((e as Error).message ?? '')}`;
    }
  }
  return undefined;
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
