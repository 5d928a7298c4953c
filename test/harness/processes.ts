import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface ManagedProcess {
  name: string;
  pid: number;
  child?: ChildProcess;
  exited: Promise<number | null>;
}

/** Starts a binary in its own process group with its output in a log file, so it can be killed as a group. */
export function startProcess(name: string, binary: string, args: string[], logFile: string, detachFromParent = false): ManagedProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: failed to start ${binary}`);
  if (detachFromParent) child.unref();
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.once('error', () => resolve(-1));
  });
  return { name, pid: child.pid, child, exited };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** TERM, a grace period, then KILL, for the whole process group; resolves when the leader is gone. */
export async function stopProcessGroup(pid: number, graceMs = 10_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  signalGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(20);
}

/**
 * Starts a small shell that outlives us only long enough to kill the given process groups once `ownerPid` dies,
 * so a test runner killed with SIGKILL still leaves no etcd or kube-apiserver behind. The pid file is re-read on
 * every check because the API server's pid changes when a test restarts it.
 */
export function startWatchdog(ownerPid: number, pidFile: string): number {
  const script = `
    while kill -0 ${ownerPid} 2>/dev/null; do sleep 1; done
    for pid in $(cat "$1" 2>/dev/null); do kill -TERM "-$pid" 2>/dev/null; done
    sleep 5
    for pid in $(cat "$1" 2>/dev/null); do kill -KILL "-$pid" 2>/dev/null; done`;
  const child = spawn('sh', ['-c', script, 'skillpod-watchdog', pidFile], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid ?? 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
