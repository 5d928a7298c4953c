// The reference agent (agent/) end to end, with the model as the only fake: a scripted OpenAI-compatible server and a
// scripted Anthropic Messages server on 127.0.0.1 that answer with tool calls and check what the agent sends. The
// agent runs as its own process (node agent/src/main.ts), reaches the skills through `skillpod-exec mcp` in front of
// real executors on real sockets, and writes its termination message, read back with the operator's own parser.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTerminationMessage } from '../../operator/src/agentrun/result.ts';
import { repoRoot } from './chart-support.ts';
import { executor, scratchPod, type Pod, type Served } from './mcp-support.ts';

const SAY = {
  name: 'say', description: 'Print a word', command: ['echo'],
  parameters: { type: 'object', required: ['word'], properties: { word: { type: 'string', pattern: '^[a-z]+$' } } },
  args: [['{word}']],
};

interface Reply { status?: number; headers?: Record<string, string>; body: unknown }
interface Seen { path: string; headers: IncomingMessage['headers']; body: Record<string, unknown> }

/** A scripted model: answers the n-th request with script(n, body) and keeps every request. */
class ScriptedModel {
  readonly seen: Seen[] = [];
  private server?: Server;
  private readonly script: (n: number, body: Record<string, unknown>) => Reply;

  constructor(script: (n: number, body: Record<string, unknown>) => Reply) {
    this.script = script;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let data = '';
      req.setEncoding('utf8').on('data', (d: string) => { data += d; }).on('end', () => {
        const body = JSON.parse(data || '{}') as Record<string, unknown>;
        this.seen.push({ path: req.url ?? '', headers: req.headers, body });
        let reply: Reply;
        try {
          reply = this.script(this.seen.length, body);
        } catch (err) {
          reply = { status: 400, body: { error: { message: `scripted model: ${String(err)}` } } };
        }
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  stop(): void {
    this.server?.close();
  }
}

const openaiToolCall = (id: string, name: string, args: unknown, usage = { prompt_tokens: 100, completion_tokens: 20 }): Reply => ({
  body: {
    id: `chat-${id}`, object: 'chat.completion', created: 1, model: 'test-model',
    choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null,
      tool_calls: [{ id, type: 'function', function: { name, arguments: JSON.stringify(args) } }] } }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  },
});
const openaiAnswer = (text: string, usage = { prompt_tokens: 130, completion_tokens: 10 }): Reply => ({
  body: {
    id: 'chat-final', object: 'chat.completion', created: 2, model: 'test-model',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  },
});

let pod: Pod;
let demo: Served;
let model: ScriptedModel | undefined;

beforeAll(async () => {
  pod = scratchPod();
  demo = await pod.serve('demo', [SAY], '---\nname: demo\n---\nUse demo__say to print one lower-case word.\n');
});
afterAll(() => pod?.stop());
afterEach(() => { model?.stop(); model = undefined; });

async function runAgent(env: Record<string, string>): Promise<{ code: number | null; report: ReturnType<typeof parseTerminationMessage>; raw: string; stderr: string }> {
  const resultFile = join(pod.dir, `result-${Date.now()}`);
  const child = spawn(join(repoRoot, 'node_modules/.bin/node'), [join(repoRoot, 'agent/src/main.ts')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: '/usr/bin:/bin', HOME: pod.dir, NODE_OPTIONS: '--disable-warning=ExperimentalWarning',
      SKILLPOD_EXEC: executor, SKILLPOD_IPC_DIR: pod.ipcDir, SKILLPOD_SKILLS_DIR: pod.skillsDir,
      SKILLPOD_TASK: 'Print the word hello with the demo skill.', AGENT_RESULT_FILE: resultFile, MODEL_API_KEY: 'test-key',
      ...env,
    },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const raw = readFileSync(resultFile, 'utf8');
  return { code, raw, report: parseTerminationMessage(raw), stderr };
}

describe('the reference agent', () => {
  it('with an OpenAI-compatible model: lists the tools, calls one over MCP, feeds the result back and reports', async () => {
    model = new ScriptedModel((n, body) => {
      if (n === 1) {
        const tools = body.tools as Array<{ type: string; function: { name: string; parameters: unknown } }>;
        const say = tools.find((t) => t.function.name === 'demo__say');
        if (!say) throw new Error(`no demo__say in ${JSON.stringify(tools)}`);
        expect(say.function.parameters).toMatchObject({ type: 'object', required: ['word'], properties: { word: { type: 'string', pattern: '^[a-z]+$' } } });
        const messages = body.messages as Array<{ role: string; content: unknown }>;
        expect(messages[0]?.role).toBe('system');
        expect(String(messages[0]?.content)).toContain('Use demo__say to print one lower-case word.');
        expect(messages[1]).toEqual({ role: 'user', content: 'Print the word hello with the demo skill.' });
        return openaiToolCall('call_1', 'demo__say', { word: 'hello' });
      }
      const messages = body.messages as Array<{ role: string; content: unknown; tool_call_id?: string }>;
      const result = messages.find((m) => m.role === 'tool');
      expect(result?.tool_call_id).toBe('call_1');
      expect(String(result?.content)).toContain('hello');
      expect(String(result?.content)).toContain('[exit code 0]');
      return openaiAnswer('The skill printed hello.');
    });
    const url = await model.start();
    const run = await runAgent({ MODEL_PROVIDER: 'openai', MODEL_NAME: 'test-model', MODEL_BASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    expect(model.seen).toHaveLength(2);
    expect(model.seen[0]?.path).toBe('/v1/chat/completions');
    expect(model.seen[0]?.headers.authorization).toBe('Bearer test-key');
    expect(run.report).toEqual({ result: 'The skill printed hello.', usage: { inputTokens: 230, outputTokens: 30, model: 'test-model' } });
    // The call went through the executor: its audit line is there.
    expect(demo.audit().filter((l) => l.tool === 'say' && l.exitCode === 0).at(-1)).toMatchObject({ args: ['hello'], input: { word: 'hello' } });
  });

  it('with the Anthropic Messages API: the same loop with tool_use and tool_result blocks', async () => {
    model = new ScriptedModel((n, body) => {
      if (n === 1) {
        const tools = body.tools as Array<{ name: string; input_schema: unknown }>;
        expect(tools.find((t) => t.name === 'demo__say')?.input_schema).toMatchObject({ type: 'object', required: ['word'] });
        expect(JSON.stringify(body.system)).toContain('Use demo__say');
        return { body: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', stop_sequence: null, stop_reason: 'tool_use',
          content: [{ type: 'text', text: 'Calling the skill.' }, { type: 'tool_use', id: 'toolu_1', name: 'demo__say', input: { word: 'hi' } }],
          usage: { input_tokens: 50, output_tokens: 7 } } };
      }
      const messages = body.messages as Array<{ role: string; content: Array<{ type: string; tool_use_id?: string; content?: unknown }> }>;
      const result = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((c) => c.type === 'tool_result');
      expect(result?.tool_use_id).toBe('toolu_1');
      expect(JSON.stringify(result?.content)).toContain('hi');
      return { body: { id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-test', stop_sequence: null, stop_reason: 'end_turn',
        content: [{ type: 'text', text: 'It printed hi.' }], usage: { input_tokens: 80, output_tokens: 5 } } };
    });
    const url = await model.start();
    const run = await runAgent({ MODEL_PROVIDER: 'anthropic', MODEL_NAME: 'claude-test', MODEL_BASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    expect(model.seen.map((s) => s.path)).toEqual(['/v1/messages', '/v1/messages']);
    expect(model.seen[0]?.headers['x-api-key']).toBe('test-key');
    expect(run.report).toEqual({ result: 'It printed hi.', usage: { inputTokens: 130, outputTokens: 12, model: 'claude-test' } });
  });

  it('retries 429 and 5xx with backoff, then goes on', async () => {
    model = new ScriptedModel((n) => {
      if (n === 1) return { status: 429, headers: { 'retry-after-ms': '50' }, body: { error: { message: 'slow down', type: 'rate_limit' } } };
      if (n === 2) return { status: 503, headers: { 'retry-after-ms': '50' }, body: { error: { message: 'overloaded' } } };
      return openaiAnswer('Done without tools.');
    });
    const url = await model.start();
    const run = await runAgent({ MODEL_PROVIDER: 'openai', MODEL_NAME: 'test-model', MODEL_BASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    expect(model.seen).toHaveLength(3);
    expect(run.report.result).toBe('Done without tools.');
  });

  it('gives up after its retries with a clear result', async () => {
    model = new ScriptedModel(() => ({ status: 500, headers: { 'retry-after-ms': '10' }, body: { error: { message: 'broken model' } } }));
    const url = await model.start();
    const run = await runAgent({ MODEL_PROVIDER: 'openai', MODEL_NAME: 'test-model', MODEL_BASE_URL: url, AGENT_MAX_RETRIES: '2' });
    expect(run.code).toBe(1);
    expect(model.seen).toHaveLength(3);
    expect(run.report.result).toMatch(/^The agent failed: .*broken model/s);
  });

  it('stops a model that never stops at the step limit', async () => {
    model = new ScriptedModel((n) => openaiToolCall(`call_${n}`, 'demo__say', { word: 'again' }, { prompt_tokens: 10, completion_tokens: 1 }));
    const url = await model.start();
    const before = demo.audit().filter((l) => l.tool === 'say').length;
    const run = await runAgent({ MODEL_PROVIDER: 'openai', MODEL_NAME: 'test-model', MODEL_BASE_URL: url, AGENT_MAX_STEPS: '3' });
    expect(run.code).toBe(1);
    expect(model.seen).toHaveLength(3);
    expect(run.report.result).toMatch(/^Stopped: the step limit \(3 model calls\) was reached/);
    expect(run.report.usage).toEqual({ inputTokens: 30, outputTokens: 3, model: 'test-model' });
    expect(demo.audit().filter((l) => l.tool === 'say').length - before).toBe(3);
  });

  it('reports a refused call to the model as an error it can read', async () => {
    model = new ScriptedModel((n, body) => {
      if (n === 1) return openaiToolCall('call_bad', 'demo__say', { word: '--kubeconfig=/tmp/x' });
      const messages = body.messages as Array<{ role: string; content: unknown }>;
      const result = String(messages.find((m) => m.role === 'tool')?.content);
      expect(result).toMatch(/^ERROR: refused by the executor of skill "demo" \(400 input_refused\)/);
      return openaiAnswer('The skill refused the word.');
    });
    const url = await model.start();
    const run = await runAgent({ MODEL_PROVIDER: 'openai', MODEL_NAME: 'test-model', MODEL_BASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.result).toBe('The skill refused the word.');
  });

  it('writes a configuration error as its result', async () => {
    const run = await runAgent({ MODEL_PROVIDER: 'gemini', MODEL_NAME: 'x' });
    expect(run.code).toBe(1);
    expect(run.report.result).toMatch(/MODEL_PROVIDER=gemini/);
  });
});
