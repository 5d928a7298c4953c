import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries an assertion until it holds or the time is up, then throws its last failure. Controllers and caches
 * converge; a test asserts that they do, not how fast.
 */
export async function eventually<T>(assertion: () => Promise<T> | T, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await sleep(intervalMs);
    }
  }
}
