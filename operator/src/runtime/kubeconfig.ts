import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, sep } from 'node:path';

/**
 * The kubeconfig: which API server, and with which credentials. `KubeHttp` needs only the current cluster and user;
 * `@kubernetes/client-node`'s `KubeConfig` has the same two methods with fields of the same names, so tests and
 * tools may pass one. The operator itself loads its kubeconfig with `loadKubeConfig` below: client-node's
 * `KubeConfig` cannot be imported without every generated API class and model of the package (its config module
 * imports the generated index), which was most of the operator's memory after start (docs/benchmarks.md).
 */
export interface KubeConfigSource {
  getCurrentCluster(): KubeCluster | null;
  getCurrentUser(): KubeUser | null;
}

export interface KubeCluster {
  name?: string;
  /** `https://host:port`, no trailing slash needed. */
  server: string;
  /** Base64 PEM (`certificate-authority-data`). */
  caData?: string | null | undefined;
  caFile?: string | null | undefined;
  skipTLSVerify?: boolean | undefined;
  tlsServerName?: string | null | undefined;
  /** `http://`, `https://` or `socks5://` (`proxy-url`). */
  proxyUrl?: string | null | undefined;
}

/** An exec credential plugin (client.authentication.k8s.io), as in the kubeconfig. */
export interface ExecConfig {
  command: string;
  args?: string[] | null;
  env?: Array<{ name: string; value: string }> | null;
  apiVersion?: string;
  provideClusterInfo?: boolean;
}

export interface KubeUser {
  name?: string;
  token?: string | null | undefined;
  /** Read again while the process runs (a projected ServiceAccount token is rotated in place). */
  tokenFile?: string | null | undefined;
  /** Base64 PEM (`client-certificate-data`, `client-key-data`). */
  certData?: string | null | undefined;
  certFile?: string | null | undefined;
  keyData?: string | null | undefined;
  keyFile?: string | null | undefined;
  username?: string | null | undefined;
  password?: string | null | undefined;
  exec?: ExecConfig | null | undefined;
  /**
   * Legacy auth providers. client-node's in-cluster form (`{name: 'tokenFile', config: {tokenFile}}`) and an exec
   * plugin given as `config.exec` are `KubeHttp`'s own; any other (oidc, azure, gcp) goes to client-node's
   * authenticators, which are loaded only then.
   */
  authProvider?: { name?: string; config?: Record<string, unknown> } | null | undefined;
  /** `as`: the Impersonate-User header. */
  impersonateUser?: string | null | undefined;
}

export interface KubeContext {
  name: string;
  cluster: string;
  user?: string | undefined;
  namespace?: string | undefined;
}

/** A loaded kubeconfig: its clusters, users and contexts, and the context in use. */
export class KubeConfigData implements KubeConfigSource {
  readonly clusters: ReadonlyMap<string, KubeCluster>;
  readonly users: ReadonlyMap<string, KubeUser>;
  readonly contexts: ReadonlyMap<string, KubeContext>;
  #currentContext: string | undefined;

  constructor(parts: { clusters: Map<string, KubeCluster>; users: Map<string, KubeUser>; contexts: Map<string, KubeContext>; currentContext?: string | undefined }) {
    this.clusters = parts.clusters;
    this.users = parts.users;
    this.contexts = parts.contexts;
    this.#currentContext = parts.currentContext;
  }

  getCurrentContext(): string | undefined {
    return this.#currentContext;
  }

  setCurrentContext(name: string): void {
    this.#currentContext = name;
  }

  getCurrentCluster(): KubeCluster | null {
    const context = this.#context();
    return (context && this.clusters.get(context.cluster)) ?? null;
  }

  getCurrentUser(): KubeUser | null {
    const context = this.#context();
    return (context?.user !== undefined && this.users.get(context.user)) || null;
  }

  #context(): KubeContext | undefined {
    return this.#currentContext === undefined ? undefined : this.contexts.get(this.#currentContext);
  }
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the in-cluster token and CA are (tests only). */
  serviceAccountDir?: string;
}

/** Where `loadKubeConfig` will look, in the order client-node (and so this operator before) looked. */
export type KubeConfigLocation =
  | { kind: 'files'; files: string[]; from: 'KUBECONFIG' | 'home' }
  | { kind: 'in-cluster'; serviceAccountDir: string }
  | { kind: 'none' };

export function kubeConfigLocation(options: LoadKubeConfigOptions = {}): KubeConfigLocation {
  const env = options.env ?? process.env;
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (files.length > 0) return { kind: 'files', files, from: 'KUBECONFIG' };
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return { kind: 'files', files: [home], from: 'home' };
  const serviceAccountDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(serviceAccountDir, 'token'))) return { kind: 'in-cluster', serviceAccountDir };
  return { kind: 'none' };
}

/**
 * The kubeconfig as client-node's `loadFromDefault` found it: the files of KUBECONFIG (merged as kubectl merges
 * them: the first file to name a cluster, user or context, or to set current-context, wins), else
 * ~/.kube/config, else the pod's ServiceAccount. Paths in a file are relative to that file. Throws on a file that
 * cannot be read or parsed, and when there is no kubeconfig at all (rather than fall back to
 * http://localhost:8080 as client-node does).
 */
export async function loadKubeConfig(options: LoadKubeConfigOptions = {}): Promise<KubeConfigData> {
  const location = kubeConfigLocation(options);
  switch (location.kind) {
    case 'none':
      throw new Error('no kubeconfig: KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod');
    case 'in-cluster':
      return inClusterConfig(options.env ?? process.env, location.serviceAccountDir);
    case 'files': {
      // YAML only when there is a file to read: a pod (in-cluster) never loads the parser.
      const { parse } = await import('yaml');
      const parts = [];
      for (const file of location.files) {
        const text = await readFile(file, 'utf8');
        if (text.trim() === '') throw new Error(`${file} is empty`);
        parts.push(parseKubeConfig(parse(text) as unknown, dirname(file)));
      }
      return mergeKubeConfigs(parts);
    }
  }
}

/** The pod's own ServiceAccount, as client-go's rest.InClusterConfig: the token file is read again as it rotates. */
export function inClusterConfig(env: NodeJS.ProcessEnv, serviceAccountDir = SERVICE_ACCOUNT_DIR): KubeConfigData {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set');
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new KubeConfigData({
    clusters: new Map([['in-cluster', { name: 'in-cluster', server, caFile: join(serviceAccountDir, 'ca.crt') }]]),
    users: new Map([['in-cluster', { name: 'in-cluster', tokenFile: join(serviceAccountDir, 'token') }]]),
    contexts: new Map([['in-cluster', { name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }]]),
    currentContext: 'in-cluster',
  });
}

type Parts = ConstructorParameters<typeof KubeConfigData>[0];

/**
 * One parsed kubeconfig file (the object YAML gives) in the field names of client-node's Cluster and User; paths
 * made absolute against `dir`. Entries without a name are an error, as in client-node.
 */
export function parseKubeConfig(doc: unknown, dir: string): Parts {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a kubeconfig: expected a mapping');
  const o = doc as Record<string, unknown>;
  const abs = (p: unknown): string | undefined => (typeof p === 'string' && p !== '' ? (isAbsolute(p) ? p : join(dir, p)) : undefined);
  const clusters = new Map<string, KubeCluster>();
  for (const [i, e] of entries(o.clusters, 'clusters')) {
    const c = record(e.cluster, `clusters[${i}].cluster`);
    const server = str(c.server);
    if (!server) throw new Error(`clusters[${i}].cluster.server is missing`);
    setFirst(clusters, e.name, {
      name: e.name, server: server.replace(/\/+$/, ''), caData: str(c['certificate-authority-data']), caFile: abs(c['certificate-authority']),
      skipTLSVerify: c['insecure-skip-tls-verify'] === true, tlsServerName: str(c['tls-server-name']), proxyUrl: str(c['proxy-url']),
    });
  }
  const users = new Map<string, KubeUser>();
  for (const [i, e] of entries(o.users, 'users')) {
    const u = e.user === undefined || e.user === null ? {} : record(e.user, `users[${i}].user`);
    const exec = u.exec === undefined || u.exec === null ? undefined : record(u.exec, `users[${i}].user.exec`);
    const command = str(exec?.command);
    if (exec && !command) throw new Error(`users[${i}].user.exec.command is missing`);
    setFirst(users, e.name, {
      name: e.name, token: str(u.token), tokenFile: abs(u.tokenFile ?? u['token-file']),
      certData: str(u['client-certificate-data']), certFile: abs(u['client-certificate']),
      keyData: str(u['client-key-data']), keyFile: abs(u['client-key']),
      username: str(u.username), password: str(u.password), impersonateUser: str(u.as),
      exec: exec && command ? {
        // A command with a path separator is a path relative to the file (client-go resolves it); else it is looked up in PATH.
        command: command.includes(sep) ? abs(command)! : command,
        args: Array.isArray(exec.args) ? exec.args.map(String) : null,
        env: Array.isArray(exec.env) ? (exec.env as Array<{ name: unknown; value: unknown }>).map((v) => ({ name: String(v.name), value: String(v.value) })) : null,
        ...(typeof exec.apiVersion === 'string' ? { apiVersion: exec.apiVersion } : {}),
        ...(exec.provideClusterInfo === true ? { provideClusterInfo: true } : {}),
      } : undefined,
      authProvider: u['auth-provider'] ? record(u['auth-provider'], `users[${i}].user.auth-provider`) as KubeUser['authProvider'] : undefined,
    });
  }
  const contexts = new Map<string, KubeContext>();
  for (const [i, e] of entries(o.contexts, 'contexts')) {
    const c = record(e.context, `contexts[${i}].context`);
    const cluster = str(c.cluster);
    if (!cluster) throw new Error(`contexts[${i}].context.cluster is missing`);
    setFirst(contexts, e.name, { name: e.name, cluster, user: str(c.user), namespace: str(c.namespace) });
  }
  return { clusters, users, contexts, currentContext: str(o['current-context']) };
}

/** kubectl's merge of several files: the first to define a name, or current-context, wins. */
export function mergeKubeConfigs(parts: Parts[]): KubeConfigData {
  const merged: Parts = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const part of parts) {
    for (const [k, v] of part.clusters) setFirst(merged.clusters, k, v);
    for (const [k, v] of part.users) setFirst(merged.users, k, v);
    for (const [k, v] of part.contexts) setFirst(merged.contexts, k, v);
    merged.currentContext ??= part.currentContext;
  }
  return new KubeConfigData(merged);
}

function setFirst<V>(map: Map<string, V>, key: string, value: V): void {
  if (!map.has(key)) map.set(key, value);
}

function* entries(list: unknown, field: string): Generator<[number, Record<string, unknown> & { name: string }]> {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new Error(`${field} is not a list`);
  for (const [i, e] of list.entries()) {
    const o = record(e, `${field}[${i}]`);
    const name = str(o.name);
    if (!name) throw new Error(`${field}[${i}].name is missing`);
    yield [i, { ...o, name }];
  }
}

function record(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where} is missing or not a mapping`);
  return v as Record<string, unknown>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
