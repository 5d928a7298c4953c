// The example agent (examples/agent) against the built-in packs served by the real executor: agent → @skillpod/client
// → skillpod-exec → kubectl (reading the test control plane) and curl (a loopback server). Once scripted, once driven
// by a stand-in for an OpenAI-compatible model on loopback that asks for tools, including a refused one. http-fetch
// takes only https:// URLs: the loopback web server has a certificate made here, which curl trusts through
// CURL_CA_BUNDLE (given to the sidecar as a pack's env would be).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { repoRoot } from './chart-support.ts';
import { pack, serve, type Served } from './skillpacks-support.ts';

const run = promisify(execFile);
const node = process.execPath;
const agent = join(repoRoot, 'examples/agent/src/agent.ts');

let ipcDir: string;
let skillsDir: string;
let served: Served[] = [];
let web: Server;
let webUrl: string;

function listen(server: Server, scheme = 'http'): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    resolve(`${scheme}://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
  }));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the agent as the pod would, with the directories of this test instead of /ipc, /skills and the termination log. */
async function runAgent(task: string, env: Record<string, string> = {}): Promise<{ code: number; result: string; stdout: string }> {
  const resultFile = join(mkdtempSync(join(tmpdir(), 'agent-')), 'termination-log');
  const baseEnv = { PATH: process.env.PATH ?? '', SKILLPOD_TASK: task, AGENT_IPC_DIR: ipcDir, AGENT_SKILLS_DIR: skillsDir, AGENT_RESULT_FILE: resultFile, ...env };
  const outcome = await run(node, [agent], { env: baseEnv, timeout: 60_000 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code?: number; stdout?: string }) => ({ code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '' }),
  );
  return { ...outcome, result: readFileSync(resultFile, 'utf8') };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pod-'));
  ipcDir = join(dir, 'ipc');
  skillsDir = join(dir, 'skills');
  const key = join(dir, 'web.key');
  const cert = join(dir, 'web.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  // kubectl reads the test control plane's admin kubeconfig: the agent sees a real API server's answer.
  served = [
    await serve('kube-inspector', { ipcDir, kubeconfig: testCluster.info().kubeconfig }),
    await serve('http-fetch', { ipcDir, env: { CURL_CA_BUNDLE: cert } }),
  ];
  for (const name of ['kube-inspector', 'http-fetch']) {
    mkdirSync(join(skillsDir, name), { recursive: true });
    writeFileSync(join(skillsDir, name, 'SKILL.md'), pack(name).spec.instructions ?? '');
  }
  web = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`release notes for ${req.url}\n`);
  });
  webUrl = await listen(web, 'https');
});

afterAll(() => {
  for (const s of served) s.stop();
  web?.close();
});

describe('the example agent', () => {
  it('runs its scripted plan through the executors and reports in its termination message', async () => {
    const { code, result } = await runAgent(`Read ${webUrl}/v1.2.0 and list the pods.`);
    expect(code).toBe(0);
    expect(result).toContain('Skills: http-fetch, kube-inspector');
    expect(result).toContain('$ kube-inspector get {"resource":"pods","output":"wide"}\nexit 0');
    expect(result).toContain('No resources found in default namespace.');
    expect(result).toContain(`$ http-fetch fetch {"url":"${webUrl}/v1.2.0","include":true}\nexit 0`);
    expect(result).toContain('HTTP/1.1 200 OK');
    expect(result).toContain('release notes for /v1.2.0');
    expect(result.length).toBeLessThanOrEqual(4000);
  });

  it('drives the tools an OpenAI-compatible model asks for, and tells the model when a policy refuses one', async () => {
    const requests: Array<{ messages: Array<{ role: string; content: string | null }>; tools: Array<{ function: { name: string } }> }> = [];
    const model = createServer((req, res) => {
      void body(req).then((text) => {
        const request = JSON.parse(text) as (typeof requests)[number];
        requests.push(request);
        const step = requests.length;
        const toolCall = (id: string, name: string, input: object) => ({ id, type: 'function', function: { name, arguments: JSON.stringify(input) } });
        const message = step === 1
          ? { role: 'assistant', content: null, tool_calls: [
            toolCall('a', 'kube-inspector__get', { resource: 'serviceaccounts', output: 'name' }),
            toolCall('b', 'kube-inspector__get', { resource: 'pods', token: 'stolen' }),
          ] }
          : step === 2
            ? { role: 'assistant', content: null, tool_calls: [toolCall('c', 'http-fetch__fetch', { url: `${webUrl}/latest` })] }
            : { role: 'assistant', content: 'The cluster has a default namespace; the latest release notes are short.' };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message }] }));
      });
    });
    const modelUrl = await listen(model);
    try {
      const { code, result } = await runAgent('Tell me about this cluster.', { MODEL_URL: `${modelUrl}/v1`, MODEL_NAME: 'test-model', MODEL_API_KEY: 'k' });
      expect(code).toBe(0);
      expect(result).toBe('The cluster has a default namespace; the latest release notes are short.');
      expect(requests).toHaveLength(3);
      expect(requests[0]!.tools.map((t) => t.function.name)).toEqual(expect.arrayContaining(['kube-inspector__get', 'kube-inspector__logs', 'http-fetch__fetch']));
      expect(requests[0]!.messages[0]!.content).toContain('# kube-inspector: look at Kubernetes objects');
      // A typed tool is offered with its own parameters as the function's schema.
      const get = requests[0]!.tools.find((t) => t.function.name === 'kube-inspector__get') as unknown as { function: { parameters: { properties: object; required: string[] } } };
      expect(Object.keys(get.function.parameters.properties)).toEqual(expect.arrayContaining(['resource', 'name', 'output']));
      expect(get.function.parameters.required).toEqual(['resource']);
      const toolAnswers = requests[1]!.messages.filter((m) => m.role === 'tool').map((m) => m.content ?? '');
      expect(toolAnswers[0]).toContain('serviceaccount/default');
      expect(toolAnswers[1]).toContain('refused by the executor: 400 input_refused');
      expect(toolAnswers[1]).toContain('token');
      const fetched = requests[2]!.messages.filter((m) => m.role === 'tool').at(-1)?.content ?? '';
      expect(fetched).toContain('release notes for /latest');
    } finally {
      model.close();
    }
  });

  it('fails with a message when it has no task', async () => {
    const { code, result } = await runAgent('   ');
    expect(code).toBe(1);
    expect(result).toBe('error: no task: SKILLPOD_TASK and /skillpod/task are empty');
  });
});
