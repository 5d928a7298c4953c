import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError } from './settings.ts';

describe('loadSettings', () => {
  it('has safe defaults: all namespaces, no leader election, finished pods kept', () => {
    const s = loadSettings([], {});
    expect(s.watchNamespaces).toEqual([]);
    expect(s.leaderElect).toBe(false);
    expect(s.podRetention).toBe('keep');
    expect(s.defaultSkillResources.limits?.memory).toBe('256Mi');
    // No client-side rate limit: API Priority and Fairness on the server is the protection (docs/operations.md).
    expect(s.apiQps).toBe(0);
    expect(s.apiBurst).toBe(10);
  });

  it.each([
    { name: 'flag', argv: ['--concurrency', '4'], env: {}, want: { concurrency: 4 } },
    { name: 'environment', argv: [], env: { SKILLPOD_CONCURRENCY: '7' }, want: { concurrency: 7 } },
    { name: 'flag over environment', argv: ['--concurrency=3'], env: { SKILLPOD_CONCURRENCY: '7' }, want: { concurrency: 3 } },
    { name: 'namespace list', argv: ['--watch-namespaces', 'a, b,,c'], env: {}, want: { watchNamespaces: ['a', 'b', 'c'] } },
    { name: 'boolean', argv: [], env: { SKILLPOD_LEADER_ELECT: 'true' }, want: { leaderElect: true } },
    { name: 'rate limit', argv: ['--api-qps=2.5', '--api-burst=5'], env: {}, want: { apiQps: 2.5, apiBurst: 5 } },
  ])('reads $name', ({ argv, env, want }) => {
    expect(loadSettings(argv, env)).toMatchObject(want);
  });

  it.each([
    { argv: ['--concurrency', '0'], mentions: ['--concurrency (SKILLPOD_CONCURRENCY) = "0"'] },
    { argv: ['--pod-retention', 'sometimes'], mentions: ['--pod-retention', 'sometimes'] },
    { argv: ['--default-agent-resources', '{nope'], mentions: ['--default-agent-resources', 'must be JSON'] },
    { argv: ['--default-skill-resources', '{"limits":{"cpu":"lots"}}'], mentions: ['Kubernetes quantity'] },
    { argv: ['--agent-uid', '1000', '--sidecar-uid', '1000'], mentions: ['--sidecar-uid', 'must differ from --agent-uid'] },
    { argv: ['--server-bind-address', 'localhost'], mentions: ['HOST:PORT'] },
    { argv: ['--api-qps=-1'], mentions: ['--api-qps (SKILLPOD_API_QPS) = "-1"'] },
    { argv: ['--api-qps=5', '--api-burst=0'], mentions: ['--api-burst (SKILLPOD_API_BURST) = "0"'] },
    { argv: ['--api-burst=1.5'], mentions: ['--api-burst'] },
  ])('names the bad value in $argv', ({ argv, mentions }) => {
    let error: unknown;
    try {
      loadSettings(argv, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingsError);
    for (const text of mentions) expect((error as Error).message).toContain(text);
  });

  it('refuses unknown flags', () => {
    expect(() => loadSettings(['--no-such-flag', 'x'], {})).toThrow(/no-such-flag/);
  });

  it('has no test-only setting: the test node adapts pods itself (test/harness/node-host-network.ts)', () => {
    expect(() => loadSettings(['--test-host-network-api-server', '127.0.0.1:6443'], {})).toThrow(/test-host-network-api-server/);
    expect(Object.keys(loadSettings([], { SKILLPOD_TEST_HOST_NETWORK_API_SERVER: '127.0.0.1:6443' })).filter((k) => /^test|hostNetwork/i.test(k))).toEqual([]);
  });
});
