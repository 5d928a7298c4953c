// The chart's PrometheusRule passes `promtool check rules` (promtool built from the Go module proxy by
// test/testbin/build-promtool.sh, cached like the control plane), and its grant alert fires on the series it is
// meant for (`promtool test rules`).
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { builtPath } from '../harness/testbin.ts';
import { chartDir, helmOk, repoRoot } from './chart-support.ts';

const run = promisify(execFile);

/** promtool from `make testbin`. Tests never build: a missing binary fails with how to build it. */
function promtool(): string {
  return join(builtPath(join(repoRoot, 'test/testbin/build-promtool.sh'), 'promtool is not built: run make testbin'), 'promtool');
}

async function renderedRules(extra: string[] = []): Promise<{ groups: Array<{ name: string; rules: Array<{ alert: string }> }> }> {
  const out = await helmOk(['template', 'skillpod', chartDir, '--namespace', 'skillpod-system', '--set', 'prometheusRule.enabled=true',
    '--show-only', 'templates/prometheusrule.yaml', ...extra]);
  const rule = parseAllDocuments(out).map((d) => d.toJS() as { kind?: string; spec?: unknown }).find((o) => o.kind === 'PrometheusRule');
  return rule?.spec as { groups: Array<{ name: string; rules: Array<{ alert: string }> }> };
}

describe('the chart\'s PrometheusRule', () => {
  it('is off by default', async () => {
    const out = await helmOk(['template', 'skillpod', chartDir, '--namespace', 'skillpod-system']);
    expect(out).not.toContain('kind: PrometheusRule');
    expect(out).not.toContain('grafana_dashboard');
  });

  it('passes promtool check rules, with its thresholds from values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skillpod-rules-'));
    for (const [name, extra] of [['defaults', []], ['tuned', ['--set-json', 'prometheusRule.grantsRevocationSeconds=2.5', '--set', 'prometheusRule.job=prometheus/skillpod']]] as const) {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, stringify(await renderedRules([...extra])));
      const { stdout } = await run(promtool(), ['check', 'rules', file]);
      expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
    }
  });

  it('fires SkillpodGrantsOutliveAgents when grants outlive agents, and not otherwise (promtool test rules)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skillpod-rules-'));
    await writeFile(join(dir, 'rules.yaml'), stringify(await renderedRules()));
    // 1 revocation per minute, each taking 20 s (slow) or 0.2 s (fast): the buckets as the operator exports them.
    const buckets = (le: string[], slow: boolean) => le.map((b) => ({
      series: `skillpod_agentrun_grants_revocation_seconds_bucket{le="${b}"}`,
      values: (slow ? Number(b) >= 20 || b === '+Inf' : Number(b) >= 0.25 || b === '+Inf') ? '0+1x30' : '0x30',
    }));
    const le = ['0.05', '0.1', '0.25', '0.5', '1', '2', '5', '10', '30', '60', '300', '+Inf'];
    const test = (slow: boolean) => ({
      interval: '1m',
      input_series: [...buckets(le, slow), { series: 'skillpod_agentrun_finished_unrevoked', values: '0x30' }],
      // No alert expected: promtool passes for fast revocations and reports the alert that fired for slow ones.
      alert_rule_test: [{ eval_time: '25m', alertname: 'SkillpodGrantsOutliveAgents', exp_alerts: [] }],
    });
    const tests = { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [test(false)] };
    await writeFile(join(dir, 'test.yaml'), stringify(tests));
    const { stdout } = await run(promtool(), ['test', 'rules', join(dir, 'test.yaml')]);
    expect(stdout).toContain('SUCCESS');
    // Slow revocations: the alert fires (promtool reports it as unexpected, with its labels).
    const slow = { ...tests, tests: [test(true)] };
    await writeFile(join(dir, 'slow.yaml'), stringify(slow));
    const failed = await run(promtool(), ['test', 'rules', join(dir, 'slow.yaml')]).then(() => '', (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`);
    expect(failed).toContain('SkillpodGrantsOutliveAgents');
    expect(failed).toContain('severity="critical"');
  });
});
