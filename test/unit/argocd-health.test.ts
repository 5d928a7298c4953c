// The Argo CD health checks (argocd/health/skillpod.io/<Kind>/health.lua) run by a real Lua interpreter on the
// fixtures their health_test.yaml names, the way Argo CD's own resource_customizations are tested. Argo CD embeds
// gopher-lua (Lua 5.1); the scripts use only what Lua 5.1 and 5.4 share, and Debian's lua5.4 runs them here.
// Without a Lua interpreter this test fails (it never skips): apt-get install lua5.4.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ALL_CONDITION_REASONS, ALL_CONDITION_TYPES } from '../../operator/src/api/conditions.ts';

const root = resolve(import.meta.dirname, '../..');
const healthDir = join(root, 'argocd/health/skillpod.io');
const kinds = readdirSync(healthDir).sort();

function luaInterpreter(): string {
  const candidates = process.env.LUA ? [process.env.LUA] : ['lua5.4', 'lua'];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  throw new Error(`no Lua interpreter (tried ${candidates.join(', ')}): install Debian's lua5.4 (apt-get install -y lua5.4) or set LUA`);
}

/** A JSON value as a Lua expression: objects and arrays become tables (arrays 1-based), null becomes nil. */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'nil';
  if (typeof value === 'string') {
    return `"${[...value].map((ch) => {
      const code = ch.codePointAt(0) ?? 0;
      if (ch === '\\' || ch === '"') return `\\${ch}`;
      if (code < 0x20 || code === 0x7f) return `\\${String(code).padStart(3, '0')}`;
      return ch;
    }).join('')}"`;
  }
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
  return `{${entries.map(([k, v]) => `[${toLua(k)}] = ${toLua(v)}`).join(', ')}}`;
}

const scratch = mkdtempSync(join(tmpdir(), 'skillpod-lua-'));

/** Runs a health script on an object as Argo CD does: the object in the global `obj`, the script's return value read. */
function health(lua: string, script: string, object: unknown): { status: string; message: string } {
  const harness = join(scratch, 'run.lua');
  writeFileSync(harness, [
    `obj = ${toLua(object)}`,
    `local hs = dofile(${toLua(script)})`,
    'io.write(tostring(hs.status), "\\n", tostring(hs.message))',
  ].join('\n'));
  const out = execFileSync(lua, [harness], { encoding: 'utf8' });
  const [status = '', ...message] = out.split('\n');
  return { status, message: message.join('\n') };
}

interface HealthTest { tests: { healthStatus: { status: string; message: string }; inputPath: string }[] }

describe('Argo CD health checks', () => {
  const lua = luaInterpreter();

  it('covers both kinds', () => {
    expect(kinds).toEqual(['AgentRun', 'SkillPack']);
  });

  for (const kind of kinds) {
    const dir = join(healthDir, kind);
    const cases = (parse(readFileSync(join(dir, 'health_test.yaml'), 'utf8')) as HealthTest).tests;

    it(`${kind}: every fixture is named by a case`, () => {
      const fixtures = readdirSync(join(dir, 'testdata')).map((f) => `testdata/${f}`).sort();
      expect(cases.map((c) => c.inputPath).sort()).toEqual(fixtures);
    });

    it.each(cases)(`${kind}: $inputPath is $healthStatus.status`, ({ healthStatus, inputPath }) => {
      const object = parse(readFileSync(join(dir, inputPath), 'utf8')) as unknown;
      expect(health(lua, join(dir, 'health.lua'), object)).toEqual(healthStatus);
    });
  }

  it('tolerates what Argo CD may hand over: empty status, conditions without reason or message, no metadata.generation', () => {
    const run = (o: unknown) => health(lua, join(healthDir, 'AgentRun/health.lua'), o);
    expect(run({ metadata: { name: 'x' }, status: {} })).toEqual({ status: 'Progressing', message: 'waiting for the Skillpod operator' });
    expect(run({ metadata: { name: 'x' }, status: { phase: 'Failed', conditions: [{ type: 'Succeeded', status: 'False' }] } }))
      .toEqual({ status: 'Degraded', message: 'the run failed' });
    expect(run({ metadata: { name: 'x' }, status: { phase: 'Running' } })).toEqual({ status: 'Progressing', message: 'Running' });
    expect(run({ metadata: { name: 'x' }, status: { phase: 'Exploded', observedGeneration: 1 } })).toEqual({ status: 'Unknown', message: 'unknown phase Exploded' });
    const pack = (o: unknown) => health(lua, join(healthDir, 'SkillPack/health.lua'), o);
    expect(pack({ metadata: { name: 'p' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } })).toEqual({ status: 'Progressing', message: '' });
    expect(pack({ metadata: { name: 'p' } })).toEqual({ status: 'Progressing', message: 'waiting for the Skillpod operator to check the pack' });
  });
});

describe('the health checks and the operator agree on condition names', () => {
  // The scripts match on condition types and reasons the operator writes; a rename on either side would turn a
  // failed run Progressing in Argo CD. Both sides name them from operator/src/api/conditions.ts.
  for (const kind of kinds) {
    it(`${kind}: every condition type and reason the script names is one the operator writes`, () => {
      const lua = readFileSync(join(healthDir, kind, 'health.lua'), 'utf8');
      const types = [...lua.matchAll(/(?:condition\(|c\.type == )"([^"]+)"/g)].map((m) => m[1]!);
      const reasons = [...lua.matchAll(/\.reason == "([^"]+)"/g)].map((m) => m[1]!);
      expect(types.length).toBeGreaterThan(0);
      for (const t of types) expect(ALL_CONDITION_TYPES, `condition type ${t}`).toContain(t);
      for (const r of reasons) expect(ALL_CONDITION_REASONS, `reason ${r}`).toContain(r);
    });

    it(`${kind}: the fixtures carry only condition types and reasons the operator writes`, () => {
      for (const file of readdirSync(join(healthDir, kind, 'testdata'))) {
        const object = parse(readFileSync(join(healthDir, kind, 'testdata', file), 'utf8')) as { status?: { conditions?: Array<{ type: string; reason?: string }> } };
        for (const c of object.status?.conditions ?? []) {
          expect(ALL_CONDITION_TYPES, `${file}: type ${c.type}`).toContain(c.type);
          if (c.reason !== undefined) expect(ALL_CONDITION_REASONS, `${file}: reason ${c.reason}`).toContain(c.reason);
        }
      }
    });
  }
});

/** argocd/argocd-cm-health.yaml: the same scripts as argocd-cm keys (resource.customizations.health.<group>_<kind>). */
function renderArgocdCm(): string {
  const data = Object.fromEntries(kinds.map((kind) => [`resource.customizations.health.skillpod.io_${kind}`, readFileSync(join(healthDir, kind, 'health.lua'), 'utf8')]));
  const header = [
    '# Argo CD health checks for Skillpod, as argocd-cm keys. Merge into your argocd-cm (kubectl patch, kustomize, or',
    '# the argo-cd Helm chart\'s configs.cm). Generated from argocd/health/skillpod.io/*/health.lua: do not edit here;',
    '# run `SKILLPOD_UPDATE_ARGOCD=1 npx vitest run --project unit test/unit/argocd-health.test.ts` after changing a script.',
    '',
  ].join('\n');
  return header + stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/part-of': 'argocd' } }, data },
    { lineWidth: 0, blockQuote: 'literal' });
}

describe('argocd/argocd-cm-health.yaml', () => {
  const file = join(root, 'argocd/argocd-cm-health.yaml');
  it('holds exactly the health scripts', () => {
    const want = renderArgocdCm();
    if (process.env.SKILLPOD_UPDATE_ARGOCD) writeFileSync(file, want);
    expect(readFileSync(file, 'utf8'), `stale: regenerate with SKILLPOD_UPDATE_ARGOCD=1 (${dirname(file)})`).toBe(want);
    const parsed = parse(want) as { data: Record<string, string> };
    expect(parsed.data['resource.customizations.health.skillpod.io_AgentRun']).toBe(readFileSync(join(healthDir, 'AgentRun/health.lua'), 'utf8'));
  });
});

interface Application { kind: string; spec: { source: { path: string }; syncPolicy: { syncOptions: string[] } } }

describe('argocd/applications', () => {
  const dir = join(root, 'argocd/applications');
  const docs = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Application));
  const apps = docs.filter((d) => d.kind === 'Application');

  it('point at folders of this repository, with server-side apply', () => {
    expect(apps.map((a) => a.spec.source.path).sort()).toEqual(['examples/runs', 'helm/skillpod', 'helm/skillpod-crds']);
    for (const app of apps) {
      expect(readdirSync(join(root, app.spec.source.path)).length).toBeGreaterThan(0);
      expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    }
  });

  it('the AgentRuns folder holds nothing but AgentRuns, none with ttlSecondsAfterFinished', () => {
    const runsDir = join(root, 'examples/runs');
    for (const file of readdirSync(runsDir)) {
      for (const doc of parseAllDocuments(readFileSync(join(runsDir, file), 'utf8'))) {
        const o = doc.toJS() as { kind: string; spec: Record<string, unknown> };
        expect(o.kind, file).toBe('AgentRun');
        expect(o.spec.ttlSecondsAfterFinished, file).toBeUndefined();
      }
    }
  });
});
