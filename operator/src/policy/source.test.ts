import { describe, expect, it } from 'vitest';
import type { Logger } from '../runtime/index.ts';
import { DEFAULT_GRANT_POLICY, DEFAULT_GRANT_POLICY_SETTINGS } from './grant-policy.ts';
import { cachedGrantPolicy, grantPolicyOf } from './source.ts';

function recordingLogger() {
  const lines: Array<[string, string]> = [];
  const logger = {
    info: (_fields: unknown, message: string) => lines.push(['info', message]),
    warn: (_fields: unknown, message: string) => lines.push(['warn', message]),
  } as unknown as Logger;
  return { logger, lines };
}

const configMap = (resourceVersion: string, data: Record<string, string>) => ({ metadata: { name: 'skillpod-grant-policy', resourceVersion }, data });

describe('grantPolicyOf', () => {
  it('falls back to the default only when the ConfigMap is absent', () => {
    expect(grantPolicyOf(undefined)).toEqual({ policy: DEFAULT_GRANT_POLICY, absent: true, problems: [] });
    expect(grantPolicyOf(configMap('1', {}))).toEqual({ policy: { rules: [], clusterRules: [], settings: DEFAULT_GRANT_POLICY_SETTINGS }, absent: false, problems: [] });
  });
});

describe('cachedGrantPolicy', () => {
  it('parses once per resourceVersion and logs each change', () => {
    const { logger, lines } = recordingLogger();
    let current: ReturnType<typeof configMap> | undefined;
    const policy = cachedGrantPolicy(() => current, logger, 'skillpod-system/skillpod-grant-policy');

    expect(policy()).toBe(DEFAULT_GRANT_POLICY);
    expect(policy()).toBe(DEFAULT_GRANT_POLICY);
    expect(lines).toEqual([['warn', 'grant policy ConfigMap not found: using the built-in default policy']]);

    current = configMap('5', { pods: 'get' });
    const first = policy();
    expect(first.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
    expect(policy()).toBe(first);

    current = configMap('6', { pods: 'get,escalate' });
    expect(policy().rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);

    current = undefined;
    expect(policy()).toBe(DEFAULT_GRANT_POLICY);
    expect(lines.map(([level, message]) => `${level}: ${message}`)).toEqual([
      'warn: grant policy ConfigMap not found: using the built-in default policy',
      'info: grant policy loaded',
      'warn: grant policy entries left out',
      'warn: grant policy ConfigMap not found: using the built-in default policy',
    ]);
  });
});
