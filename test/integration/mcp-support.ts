// Real executors (bin/skillpod-exec serve) on real sockets in a scratch directory laid out as the pod's /ipc, and a
// stdio transport for the official MCP client that can also write raw lines: what the MCP and agent tests share.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SkillClient } from '../../clients/typescript/src/index.ts';
import { eventually } from '../harness/eventually.ts';
import { repoRoot } from './chart-support.ts';

export const executor = join(repoRoot, 'bin/skillpod-exec');

/** A scratch pod: /ipc, /skills, the workspace and the downward API annotations file every executor reads. */
export interface Pod {
  dir: string;
  ipcDir: string;
  skillsDir: string;
  annotations: string;
  /** Sets skillpod.io/disabled-skills, as the kubelet rewrites the downward API file. */
  disable(...packs: string[]): void;
  serve(pack: string, tools: unknown[], instructions?: string): Promise<Served>;
  stop(): void;
}

export interface Served {
  pack: string;
  client: SkillClient;
  /** The executor's stdout: its audit trail, one JSON line per call. */
  audit(): Array<Record<string, unknown>>;
}

export function scratchPod(): Pod {
  if (!existsSync(executor)) throw new Error(`${executor} is missing: run make executor`);
  const dir = mkdtempSync(join(tmpdir(), 'skillpod-mcp-'));
  const ipcDir = join(dir, 'ipc');
  const skillsDir = join(dir, 'skills');
  const annotations = join(dir, 'annotations');
  for (const d of [ipcDir, skillsDir, join(dir, 'workspace')]) mkdirSync(d, { recursive: true });
  writeFileSync(annotations, '');
  // serve refuses to start unless every setting it reads is present; empty means the default.
  const settings = JSON.parse(execFileSync(executor, ['settings'], { encoding: 'utf8' })) as string[];
  const children: ChildProcess[] = [];
  return {
    dir, ipcDir, skillsDir, annotations,
    disable(...packs) {
      const tmp = `${annotations}.tmp`;
      writeFileSync(tmp, packs.length ? `skillpod.io/disabled-skills=${JSON.stringify(packs.join(','))}\n` : '');
      execFileSync('mv', [tmp, annotations]);
    },
    async serve(pack, tools, instructions) {
      if (instructions !== undefined) {
        mkdirSync(join(skillsDir, pack), { recursive: true });
        writeFileSync(join(skillsDir, pack, 'SKILL.md'), instructions);
      }
      const env: Record<string, string> = Object.fromEntries(settings.map((k) => [k, '']));
      Object.assign(env, {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        SKILLPOD_TOOLS: JSON.stringify(tools), SKILLPOD_AGENT_UID: String(process.getuid?.() ?? 0),
        SKILLPOD_IPC_DIR: ipcDir, SKILLPOD_WORKDIR: join(dir, 'workspace'), SKILLPOD_PODINFO_FILE: annotations,
      });
      const child = spawn(executor, ['serve', '--skill', pack], { stdio: ['ignore', 'pipe', 'inherit'], env });
      children.push(child);
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const client = new SkillClient(pack, { ipcDir });
      await eventually(() => client.health(), 10_000, 50);
      return {
        pack, client,
        audit: () => out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>),
      };
    },
    stop() {
      for (const c of children) c.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The MCP stdio transport over a child process, as the SDK's StdioClientTransport, plus `writeRaw` to send a line
 * that is not a message. Answers with a null id (a server's reply to an unreadable line) are kept in `strays`
 * instead of being handed to the client, which could not match them to a request.
 */
export class RawStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly strays: unknown[] = [];
  stderr = '';
  private child?: ChildProcess;

  private readonly command: string;
  private readonly args: string[];
  private readonly env: Record<string, string>;

  constructor(command: string, args: string[], env: Record<string, string>) {
    this.command = command;
    this.args = args;
    this.env = env;
  }

  async start(): Promise<void> {
    const child = spawn(this.command, this.args, { stdio: ['pipe', 'pipe', 'pipe'], env: this.env });
    this.child = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    child.on('error', (e) => this.onerror?.(e));
    child.on('close', () => this.onclose?.());
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        let msg: { id?: unknown; error?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch (e) {
          this.onerror?.(new Error(`not JSON from the server: ${line}: ${String(e)}`));
          continue;
        }
        // An error answer with a null id (the reply to an unreadable line) matches no request of the client.
        if (msg.error !== undefined && msg.id === null) this.strays.push(msg);
        else this.onmessage?.(msg as JSONRPCMessage);
      }
    });
    await new Promise<void>((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.writeRaw(serializeMessage(message));
  }

  writeRaw(data: string): Promise<void> {
    return new Promise((resolve, reject) => this.child?.stdin?.write(data, (e) => (e ? reject(e) : resolve())));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  close(): Promise<void> {
    this.child?.stdin?.end();
    this.child?.kill('SIGTERM');
    return Promise.resolve();
  }
}
