// The attack suite's common parts (test/integration/attack-*.test.ts): the attacker's HTTPS server on loopback, the
// packs under attack, and how a hostile agent calls a tool.
//
// A hostile agent tries every form a tool takes: a typed tool gets the attacker's inputs (each must be refused with
// 400 input_refused naming the parameter, and the reason) and the same attack as free arguments (refused with
// args_not_accepted); a free-argument tool gets the arguments. What decides a test is the EFFECT: the attacker's
// server saw no secret, no planted program ran, no file was read or written where it must not be, and the executor
// still serves. That is what fails when the packs as they were before the typed rewrite are served instead:
//
//   mkdir -p /tmp/old-packs && for p in kube-inspector http-fetch helm; do
//     git show 299dbe6~1:skillpacks/$p.yaml > /tmp/old-packs/$p.yaml; done
//   SKILLPOD_ATTACK_PACKS=/tmp/old-packs node_modules/.bin/node node_modules/vitest/vitest.mjs run \
//     --project integration test/integration/attack-*.test.ts
//
// (a pack from SKILLPOD_ATTACK_PACKS has its tools without `parameters` marked `freeArguments: true`, which is what
// they were: free arguments checked by their argPolicy.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { ExecutorError, type RunResult, type ToolInput } from '../../clients/typescript/src/index.ts';
import { parseSkillPack, type SkillPack } from '../../operator/src/api/index.ts';
import { pack, serve, type ServeOptions, type Served } from './skillpacks-support.ts';

/** Where the packs of a "before" run are (see above); unset: the packs of this tree. */
export const OLD_PACKS = process.env.SKILLPOD_ATTACK_PACKS;

/** The pack under attack: the built-in one, or the old one of that name with its tools marked as free-argument. */
export function packUnderAttack(name: string): SkillPack {
  if (!OLD_PACKS) return pack(name);
  const raw = parse(readFileSync(join(OLD_PACKS, `${name}.yaml`), 'utf8')) as { spec: { tools: Array<Record<string, unknown>> } };
  for (const tool of raw.spec.tools) if (tool.parameters === undefined) tool.freeArguments = true;
  const result = parseSkillPack(raw);
  if (!result.ok) throw new Error(`${OLD_PACKS}/${name}.yaml: ${result.error}`);
  return result.value;
}

/** Serves the pack under attack with the real executor (see skillpacks-support.ts). */
export function serveUnderAttack(name: string, options: Omit<ServeOptions, 'pack'> = {}): Promise<Served> {
  return serve(name, { ...options, pack: packUnderAttack(name) });
}

/** A value the sidecar holds and the agent must never see: a pack Secret in its env, its ServiceAccount token. */
export const SECRET = 'sk-pack-secret-4711';

export interface Seen { method?: string; url?: string; headers: Record<string, unknown>; body: string }

/** The attacker's HTTPS server on 127.0.0.1 with a self-signed certificate (`ca` is its PEM file for the tools). */
export interface Attacker {
  url: string;
  ca: string;
  seen: Seen[];
  /** Requests that carried the secret (in the path, a header or the body), since the `since`-th request. */
  leaked(since?: number): Seen[];
  /** Answers a path with this body (default: a Kubernetes Status, which kubectl takes as an answer). */
  route(path: string, body: Buffer | string, type?: string): void;
  close(): Promise<void>;
}

export async function startAttacker(): Promise<Attacker> {
  const dir = mkdtempSync(join(tmpdir(), 'skillpod-attacker-'));
  const key = join(dir, 'attacker.key');
  const ca = join(dir, 'attacker.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', ca], { stdio: 'ignore' });
  const seen: Seen[] = [];
  const routes = new Map<string, { body: Buffer | string; type: string }>();
  const server: Server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(ca) }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('latin1') });
      const route = routes.get((req.url ?? '').split('?')[0] ?? '');
      if (route) res.writeHead(200, { 'content-type': route.type }).end(route.body);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Success"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url, ca, seen,
    leaked: (since = 0) => seen.slice(since).filter((s) => JSON.stringify(s).includes(SECRET)),
    route: (path, body, type = 'application/octet-stream') => { routes.set(path, { body, type }); },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** One call's outcome as the agent sees it. */
export type Outcome =
  | { refused: true; status: number; code: string; parameter?: string; index?: number; message: string }
  | { refused: false; result: RunResult };

async function outcome(call: () => Promise<RunResult>): Promise<Outcome> {
  try {
    return { refused: false, result: await call() };
  } catch (err) {
    if (!(err instanceof ExecutorError)) throw err;
    return { refused: true, status: err.status, code: err.code, parameter: err.body?.parameter, index: err.body?.index, message: err.body?.message ?? '' };
  }
}

/** The typed form of an attack: the input, which parameter the executor must name, and why (matched on its message). */
export interface TypedAttempt { input: Record<string, unknown>; parameter: string; why: RegExp }

/** One attack on one tool, in every form the tool might take. */
export interface Attack {
  tool: string;
  /** The attack as free arguments (what the packs took before). */
  args?: string[];
  /** The attack as typed inputs, each with the refusal it must get. */
  typed: TypedAttempt[];
  env?: Record<string, string>;
}

/** Whether the served tool is typed (GET /v1/tools shows its parameters). */
export async function isTyped(served: Served, tool: string): Promise<boolean> {
  const t = (await served.client.list()).tools.find((x) => x.name === tool);
  if (!t) throw new Error(`no tool ${tool}`);
  return t.freeArguments !== true;
}

/**
 * Makes every attempt of an attack. On a typed tool, asserts each refusal: 400 input_refused naming the parameter
 * for a reason the message gives, and 400 args_not_accepted for the free-argument form. On a free-argument tool the
 * arguments run (or the policy refuses them); the caller's effect assertions decide. Returns every outcome.
 */
export async function attempt(served: Served, attack: Attack): Promise<Outcome[]> {
  const { client } = served;
  const opts = { timeoutSeconds: 30, ...(attack.env ? { env: attack.env } : {}) };
  const outcomes: Outcome[] = [];
  if (await isTyped(served, attack.tool)) {
    for (const t of attack.typed) {
      const o = await outcome(() => client.run(attack.tool, { input: t.input as ToolInput, ...opts }));
      outcomes.push(o);
      expect(o, `${attack.tool} ${JSON.stringify(t.input)}`).toMatchObject({ refused: true, status: 400, code: 'input_refused', parameter: t.parameter });
      expect(o.refused && o.message, `${attack.tool} ${JSON.stringify(t.input)}: why`).toMatch(t.why);
    }
    if (attack.args) {
      const o = await outcome(() => client.call(attack.tool, attack.args, opts));
      outcomes.push(o);
      expect(o).toMatchObject({ refused: true, status: 400, code: 'args_not_accepted' });
    }
  } else if (attack.args) {
    outcomes.push(await outcome(() => client.call(attack.tool, attack.args, opts)));
  }
  return outcomes;
}

/** The executor still answers and its tools still resolve. */
export async function expectServing(served: Served): Promise<void> {
  const health = await served.client.health();
  expect(health.ready).toBe(true);
}

/** Why the executor refused a value (the rule its message names). */
export const WHY = {
  unknown: /the tool has no such parameter/,
  pattern: /does not match the pattern/,
  enum: /is not one of/,
  flag: /would read it as a flag/,
};
