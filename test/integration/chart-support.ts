// Helpers for the chart tests: the helm that `make testbin` built from source, run against the test control plane
// with its own scratch HOME (no ~/.config/helm or ~/.kube of the machine is read or written). kubectl is
// test/harness/kubectl.ts.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { testCluster } from '../harness/context.ts';
import { builtPath } from '../harness/testbin.ts';

const run = promisify(execFile);

export const repoRoot = resolve(import.meta.dirname, '../..');
export const chartDir = join(repoRoot, 'helm/skillpod');

/** The helm binary from `make testbin` (test/testbin/build-helm.sh). Tests never build: a missing binary fails. */
export function helmBinary(): string {
  if (process.env.SKILLPOD_HELM) return process.env.SKILLPOD_HELM;
  return join(builtPath(join(repoRoot, 'test/testbin/build-helm.sh'), 'helm is not built: run make testbin'), 'helm');
}

const scratch = mkdtempSync(join(tmpdir(), 'skillpod-helm-'));

function env(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: scratch,
    HELM_CACHE_HOME: join(scratch, 'cache'),
    HELM_CONFIG_HOME: join(scratch, 'config'),
    HELM_DATA_HOME: join(scratch, 'data'),
    KUBECONFIG: testCluster.info().kubeconfig,
  };
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(binary: string, args: string[]): Promise<Result> {
  const child = run(binary, args, { env: env(), cwd: repoRoot, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 });
  child.child.stdin?.end();
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** Helm's INFO lines about the chart's symlinks (crds-source, skillpacks-source) say nothing about the result. */
function quiet(stderr: string): string {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.includes('found symbolic link in path')).join('\n');
}

export async function helm(args: string[]): Promise<Result> {
  const result = await exec(helmBinary(), args);
  return { ...result, stderr: quiet(result.stderr) };
}

/** helm that must succeed; its stdout. */
export async function helmOk(args: string[]): Promise<string> {
  const result = await helm(args);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
  return result.stdout;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Every object of a multi-document YAML stream (empty documents left out). */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`bad YAML from helm: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS({ maxAliasCount: -1 }) as KubeObject | null;
  }).filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

export function describeObject(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/** Renders the chart; `args` are extra helm template flags. */
export async function render(args: string[] = [], namespace = 'skillpod-system'): Promise<KubeObject[]> {
  return parseObjects(await helmOk(['template', 'skillpod', chartDir, '--namespace', namespace, ...args]));
}

/** A values file that turns on every switch of the chart (used for lint, render, dry run and upgrade). */
export const fullValuesFile = join(repoRoot, 'test/integration/testdata/chart-values-full.yaml');
