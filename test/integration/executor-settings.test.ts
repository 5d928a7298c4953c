// The pod builder writes every setting the real executor reads (and nothing it does not), so a skill image's own
// ENV can never supply one: `skillpod-exec settings` is the executor's own list, and `serve` refuses to start
// when a key of it is missing from the environment.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { executorSettings } from '../../operator/src/builders/index.ts';
import { repoRoot } from '../harness/operator.ts';

const executor = join(repoRoot, 'bin/skillpod-exec');

describe('executor settings', () => {
  it('the pod builder sets exactly the keys the executor reads', async () => {
    const { stdout } = await promisify(execFile)(executor, ['settings']);
    expect(Object.keys(executorSettings('[]', 1000)).sort()).toEqual((JSON.parse(stdout) as string[]).sort());
  });

  it('serve refuses to start when one is missing, naming it (an image ENV cannot fill the gap: the pod sets them all)', async () => {
    const settings = executorSettings(JSON.stringify([{ name: 'ls', command: ['ls'] }]), 1000);
    delete settings.SKILLPOD_PODINFO_FILE;
    const failed = await promisify(execFile)(executor, ['serve', '--skill', 'demo'], { env: { PATH: '/usr/bin:/bin', ...settings }, timeout: 10_000 })
      .then(() => '', (e: { stderr: string }) => e.stderr);
    expect(failed).toContain('SKILLPOD_PODINFO_FILE');
  });
});
