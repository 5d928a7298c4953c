import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure functions, no cluster) and `integration` (a real control plane started once per
// run by the global setup; files run one at a time because some of them restart kube-apiserver).
export default defineConfig({
  test: {
    // `make test` asks for a JSON report (SKILLPOD_TEST_REPORT) that test/summarize.ts adds up; ad-hoc runs
    // write none, so they never overwrite the report of a suite running beside them.
    reporters: process.env.SKILLPOD_TEST_REPORT ? ['default', ['json', { outputFile: process.env.SKILLPOD_TEST_REPORT }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['operator/**/*.test.ts', 'clients/**/*.test.ts', 'test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          environment: 'node',
        },
      },
      {
        // A real node (kubelet, containerd, runc) beside the control plane: runs really run.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/harness/node-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          environment: 'node',
        },
      },
    ],
  },
});
