import { parseArgs } from 'node:util';
import { z } from 'zod';

const quantity = z.string().regex(/^[0-9.]+([numkKMGTPE]i?)?$/, 'a Kubernetes quantity such as 100m or 128Mi');
const resourceList = z.object({ cpu: quantity.optional(), memory: quantity.optional(), 'ephemeral-storage': quantity.optional() }).strict();
const resources = z.object({ requests: resourceList.optional(), limits: resourceList.optional() }).strict();
const boolish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const bindAddress = z.string().regex(/^[^:]*:\d{1,5}$/, 'HOST:PORT, for example 127.0.0.1:8080 or :8080');

/** Operator settings, from flags or environment variables; a bad value fails start-up with its name. */
export const settingsSchema = z.object({
  watchNamespaces: z.string().default('').transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .describe('namespaces to watch, comma-separated; empty means all'),
  operatorNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63).default('skillpod-system'),
  concurrency: z.coerce.number().int().min(1).max(256).default(16),
  executorImage: z.string().min(1).default('ghcr.io/skillpod/executor:v0.1.0'),
  defaultAgentImage: z.string().default(''),
  agentUid: z.coerce.number().int().min(1).max(2147483647).default(65532),
  sidecarUid: z.coerce.number().int().min(1).max(2147483647).default(65533),
  defaultAgentResources: z.string().default('{"requests":{"cpu":"100m","memory":"256Mi"},"limits":{"cpu":"1","memory":"1Gi"}}')
    .transform(parseJson).pipe(resources),
  defaultSkillResources: z.string().default('{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"256Mi"}}')
    .transform(parseJson).pipe(resources),
  podRetention: z.enum(['keep', 'delete']).default('keep').describe('keep finished pods until the run is deleted, or delete them at once'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  serverBindAddress: bindAddress.default(':8080').describe('where /healthz, /readyz and /metrics are served'),
  metricsBindAddress: z.union([z.literal(''), bindAddress]).default('')
    .describe('serve /metrics here instead of on --server-bind-address (e.g. :8443); empty: with the probes'),
  metricsSecure: boolish.default(false)
    .describe('/metrics over HTTPS, only for callers the API server authenticates and authorizes (get /metrics); needs --metrics-bind-address'),
  metricsCertDir: z.string().default('')
    .describe('tls.crt and tls.key for --metrics-secure; empty: a self-signed certificate made at start'),
  metricsNamespaceLabel: boolish.default(false)
    .describe('adds a namespace label to the AgentRun metrics (one series per namespace with runs)'),
  domainMetrics: boolish.default(true)
    .describe('the skillpod_* metrics of runs and packs (docs/operations.md); false leaves only the controller, work-queue and client metrics'),
  leaderElect: boolish.default(false),
  leaderElectionId: z.string().default('skillpod-operator'),
  leaseDurationSeconds: z.coerce.number().int().min(2).max(300).default(15),
  shutdownGraceSeconds: z.coerce.number().int().min(0).max(300).default(20),
  startupTimeoutSeconds: z.coerce.number().int().min(1).max(600).default(30)
    .describe('how long start-up waits for the API server to answer before the operator exits with the reason'),
  resyncSeconds: z.coerce.number().int().min(10).max(86400).default(300),
  // client-go's QPS and Burst, except that 0 means no limit (client-go's 0 means its default of 5): the API server's
  // Priority and Fairness protects it, and 429 + Retry-After is honoured either way (docs/operations.md).
  apiQps: z.coerce.number().min(0).max(10000).default(0)
    .describe('client-side limit on requests to the API server per second (client-go QPS); 0 means none. Watches are not limited'),
  apiBurst: z.coerce.number().int().min(1).max(10000).default(10)
    .describe('requests that may go at once before --api-qps applies (client-go Burst); only with --api-qps above 0'),
}).refine((s) => !s.metricsSecure || s.metricsBindAddress !== '', {
  path: ['metricsSecure'],
  message: 'needs --metrics-bind-address: the probes stay plain HTTP for the kubelet, /metrics gets a port of its own',
}).refine((s) => s.agentUid !== s.sidecarUid, {
  path: ['sidecarUid'],
  message: 'must differ from --agent-uid: the executors tell the agent apart from the sidecars by its UID',
});

export type Settings = z.output<typeof settingsSchema>;

function parseJson(value: string, ctx: z.RefinementCtx): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON, for example {"requests":{"cpu":"100m"}}' });
    return z.NEVER;
  }
}

/** `watchNamespaces` ↔ `--watch-namespaces` ↔ `SKILLPOD_WATCH_NAMESPACES`. */
function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
function envName(key: string): string {
  return `SKILLPOD_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}

export class SettingsError extends Error {}

/** Flags win over environment variables, which win over defaults. */
export function loadSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
  const keys = Object.keys(settingsSchema.shape);
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(keys.map((k) => [flagName(k), { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const value = values[flagName(key)] ?? env[envName(key)];
    if (value !== undefined) raw[key] = value;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return `--${flagName(key)} (${envName(key)}) = ${JSON.stringify(raw[key])}: ${issue.message}`;
    });
    throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** For `--help`: every setting with its flag and environment variable. */
export function settingsHelp(): string {
  return Object.entries(settingsSchema.shape).map(([key, schema]) => {
    const description = schema.description ?? '';
    return `  --${flagName(key)}  (${envName(key)})${description ? `  ${description}` : ''}`;
  }).join('\n');
}
