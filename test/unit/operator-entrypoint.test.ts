// The operator runs with one set of Node flags wherever it runs: the image (sidecar-images/operator/Dockerfile), the
// test node's image (test/node/build.sh) and the benchmark (operatorNodeFlags reads the Dockerfile).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { operatorNodeFlags, repoRoot } from '../harness/workload.ts';

describe('the operator\'s Node flags', () => {
  it('are the same in the image, the test node\'s image and the benchmark', () => {
    const flags = operatorNodeFlags();
    expect(flags).toEqual(expect.arrayContaining(['--max-semi-space-size=4', '--heap-growing-percent=50']));
    const build = readFileSync(join(repoRoot, 'test/node/build.sh'), 'utf8');
    const nodeImage = /image operator \S+ "\$\(config '(\[[^']*\])'/.exec(build)?.[1];
    expect(nodeImage, 'test/node/build.sh: the operator image config').toBeDefined();
    expect((JSON.parse(nodeImage!) as string[]).slice(1, -1)).toEqual(flags);
  });
});
