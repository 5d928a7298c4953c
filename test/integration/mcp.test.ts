// `skillpod-exec mcp` as an agent's harness sees it: the official MCP client (@modelcontextprotocol/sdk) speaks to it
// over stdio, in front of real executors (`skillpod-exec serve`) on real sockets laid out as the pod's /ipc. Every
// call must reach the executor (its audit line proves it), refusals and switched-off skills must be tool errors, and
// a bad line must not take the server down.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../harness/eventually.ts';
import { executor, RawStdioTransport, scratchPod, type Pod, type Served } from './mcp-support.ts';

const DEMO_TOOLS = [
  {
    name: 'say', description: 'Print a word', command: ['echo'],
    parameters: {
      type: 'object', required: ['word'],
      properties: { word: { type: 'string', pattern: '^[a-z]+$', description: 'a lower-case word' }, twice: { type: 'boolean' } },
    },
    args: [['{word}'], ['{word}', '{twice}']],
  },
  { name: 'raw', description: 'Print the arguments', command: ['echo'], freeArguments: true, argPolicy: { deniedFlags: ['--bad'], maxArgs: 4 } },
  { name: 'fail', description: 'Always fails', command: ['sh', '-c', 'echo broken >&2; exit 3'] },
];
const OTHER_TOOLS = [{ name: 'date', description: 'The date', command: ['date', '-u'] }];

let pod: Pod;
let demo: Served;
let transport: RawStdioTransport;
let client: Client;
let listChanged = 0;

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

async function call(name: string, args?: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

async function toolNames(): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

beforeAll(async () => {
  pod = scratchPod();
  demo = await pod.serve('demo', DEMO_TOOLS, '---\nname: demo\ndescription: words\n---\nCall demo__say to print a word.\n');
  await pod.serve('other', OTHER_TOOLS);
  transport = new RawStdioTransport(executor, ['mcp'], {
    PATH: '/usr/bin:/bin', SKILLPOD_IPC_DIR: pod.ipcDir, SKILLPOD_SKILLS_DIR: pod.skillsDir, SKILLPOD_MCP_POLL_INTERVAL: '300ms',
  });
  client = new Client({ name: 'skillpod-test', version: '1' });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => { listChanged++; });
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  pod?.stop();
});

describe('skillpod-exec mcp', () => {
  it('lists every skill tool as <pack>__<tool> with its typed parameters as the input schema', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['demo__fail', 'demo__raw', 'demo__say', 'other__date']);
    const say = tools.find((t) => t.name === 'demo__say');
    expect(say?.description).toContain('Print a word');
    expect(say?.inputSchema).toEqual(DEMO_TOOLS[0]?.parameters);
    const raw = tools.find((t) => t.name === 'demo__raw');
    expect(raw?.inputSchema).toMatchObject({ type: 'object', properties: { args: { type: 'array', items: { type: 'string' }, maxItems: 4 } } });
    expect(raw?.description).toContain('--bad');
    expect(tools.find((t) => t.name === 'other__date')?.inputSchema).toMatchObject({ type: 'object', properties: {} });
    expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true);
  });

  it("offers each pack's SKILL.md as a resource and in the server's instructions", async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(['skillpod://skills/demo/SKILL.md']);
    const read = await client.readResource({ uri: 'skillpod://skills/demo/SKILL.md' });
    expect(read.contents[0]).toMatchObject({ mimeType: 'text/markdown' });
    expect(JSON.stringify(read.contents[0])).toContain('Call demo__say');
    expect(client.getInstructions()).toContain('Call demo__say to print a word.');
  });

  it('runs a typed tool through the executor, which renders the arguments and writes the audit line', async () => {
    const result = await call('demo__say', { word: 'hello', twice: true });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('hello hello\n\n[exit code 0]');
    const line = demo.audit().find((l) => l.tool === 'say' && l.status === 200);
    expect(line).toMatchObject({ args: ['hello', 'hello'], input: { word: 'hello', twice: true }, mode: 'sync', exitCode: 0 });
  });

  it('runs a free-argument tool with {"args": [...]}', async () => {
    const result = await call('demo__raw', { args: ['a', 'b c'] });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('a b c\n\n[exit code 0]');
  });

  it('returns refusals as tool errors that name the reason, never as protocol errors', async () => {
    const refused = await call('demo__say', { word: '--help' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/400 input_refused.*parameter "word"/);
    const unknownParam = await call('demo__say', { word: 'x', kubeconfig: '/tmp/k' });
    expect(unknownParam.isError).toBe(true);
    expect(text(unknownParam)).toContain('kubeconfig');
    const flag = await call('demo__raw', { args: ['--bad'] });
    expect(flag.isError).toBe(true);
    expect(text(flag)).toMatch(/argument_refused.*--bad/);
    const notArgs = await call('demo__raw', { argv: ['x'] });
    expect(notArgs.isError).toBe(true);
    expect(text(notArgs)).toContain('{"args": [strings]}');
    // Each refusal went to the executor and is in its audit trail (except the last, refused before any call).
    expect(demo.audit().filter((l) => l.status === 400).map((l) => l.error)).toEqual(['input_refused', 'input_refused', 'argument_refused']);
  });

  it('reports a non-zero exit as a tool error with stderr and the exit code', async () => {
    const result = await call('demo__fail');
    expect(result.isError).toBe(true);
    expect(text(result)).toBe('stderr:\nbroken\n\n[exit code 3]');
  });

  it('answers an unknown tool with a protocol error', async () => {
    await expect(call('demo__nope')).rejects.toThrow(McpError);
    await expect(call('nobody__x')).rejects.toThrow(/unknown tool/);
  });

  it('removes a switched-off skill from the list with list_changed, and refuses its calls as tool errors', async () => {
    const before = listChanged;
    pod.disable('demo');
    await eventually(() => { if (listChanged <= before) throw new Error('no list_changed yet'); }, 5_000, 50);
    expect(await toolNames()).toEqual(['other__date']);
    const off = await call('demo__say', { word: 'hello' });
    expect(off.isError).toBe(true);
    expect(text(off)).toMatch(/demo__say is not available: skill "demo" is switched off/);
    expect((await call('other__date')).isError).toBeFalsy();

    const again = listChanged;
    pod.disable();
    await eventually(() => { if (listChanged <= again) throw new Error('no list_changed yet'); }, 5_000, 50);
    expect(await toolNames()).toEqual(['demo__fail', 'demo__raw', 'demo__say', 'other__date']);
    expect(text(await call('demo__say', { word: 'back' }))).toContain('back');
  });

  it('answers malformed JSON-RPC with an error and stays up', async () => {
    await transport.writeRaw('this is not json{\n');
    await transport.writeRaw('[]\n');
    await eventually(() => { if (transport.strays.length < 2) throw new Error(`answers: ${JSON.stringify(transport.strays)}`); }, 5_000, 20);
    expect(transport.strays).toMatchObject([
      { jsonrpc: '2.0', id: null, error: { code: -32700 } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request: JSON-RPC batches are not supported' } },
    ]);
    // A JSON object that is not a valid request, with a usable id: answered with that id (the client sees an error).
    const invalid = new Promise<unknown>((resolve) => {
      const prev = transport.onmessage;
      transport.onmessage = (m) => {
        if ('id' in m && m.id === 'raw-1') { transport.onmessage = prev; resolve(m); } else prev?.(m);
      };
    });
    await transport.writeRaw('{"jsonrpc":"2.0","id":"raw-1","method":42}\n');
    expect(await invalid).toMatchObject({ id: 'raw-1', error: { code: -32600 } });
    expect(transport.alive).toBe(true);
    expect(await toolNames()).toContain('demo__say');
    expect(text(await call('demo__say', { word: 'still' }))).toContain('still');
  });
});
