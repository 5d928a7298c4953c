// An example agent for Skillpod. It learns its task from SKILLPOD_TASK (or /skillpod/task), finds its skills in
// /ipc, calls their tools through the executor's client (@skillpod/client, clients/typescript), and reports through
// its termination message, which the operator copies to the AgentRun's status.result.
//
// Two modes:
//   - with MODEL_URL set: a tool-calling loop against an OpenAI-compatible chat completions API (MODEL_URL,
//     MODEL_NAME, MODEL_API_KEY); every tool of every skill is offered as a function: a typed tool with its own
//     parameters as the function schema, a free-argument tool taking `args`;
//   - without: a fixed, read-only plan per known skill (kube-inspector, kube-operator, http-fetch, helm), so the
//     examples run to the end without a model.
// Node 24 runs this file as it is (type stripping); it needs nothing but Node and the client.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutorError, listSkills, SkillClient, type RunResult, type Tool, type ToolInput } from '../../../clients/typescript/src/index.ts';

const IPC_DIR = process.env.AGENT_IPC_DIR ?? '/ipc';
const SKILLS_DIR = process.env.AGENT_SKILLS_DIR ?? '/skills';
const RESULT_FILE = process.env.AGENT_RESULT_FILE ?? '/dev/termination-log';
/** Kubernetes keeps 4 KiB of a container's termination message (12 KiB for the whole pod). */
const MAX_RESULT = 4000;
const MAX_STEPS = Number(process.env.MAX_STEPS ?? 12);

interface Skill {
  name: string;
  client: SkillClient;
  enabled: boolean;
  tools: Tool[];
  instructions: string;
}

async function readTask(): Promise<string> {
  const task = process.env.SKILLPOD_TASK ?? (await readFile('/skillpod/task', 'utf8').catch(() => ''));
  if (!task.trim()) throw new Error('no task: SKILLPOD_TASK and /skillpod/task are empty');
  return task.trim();
}

async function discover(): Promise<Skill[]> {
  const skills: Skill[] = [];
  for (const name of await listSkills(IPC_DIR)) {
    const client = new SkillClient(name, { ipcDir: IPC_DIR });
    const list = await client.list();
    const instructions = await readFile(join(SKILLS_DIR, name, 'SKILL.md'), 'utf8').catch(() => '');
    skills.push({ name, client, enabled: list.enabled, tools: list.tools, instructions });
  }
  return skills;
}

/** What a call sends: a typed tool's input, or a free-argument tool's arguments. */
type Call = { input: ToolInput } | { args: string[] };

/** A tool call as text for the report or the model: exit code and output, or the executor's refusal. */
async function call(skill: Skill, tool: string, what: Call): Promise<{ ok: boolean; text: string; result?: RunResult }> {
  try {
    const result = 'args' in what ? await skill.client.call(tool, what.args) : await skill.client.run(tool, { input: what.input });
    const out = result.stdout + (result.stderr ? `\n[stderr]\n${result.stderr}` : '');
    return { ok: result.exitCode === 0, text: `exit ${result.exitCode}${result.truncated ? ' (output truncated)' : ''}\n${out}`, result };
  } catch (err) {
    if (err instanceof ExecutorError) return { ok: false, text: `refused by the executor: ${err.message}` };
    throw err;
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 20)}\n…(${text.length - max + 20} more)`;
}

// ----------------------------------------------------------------------------------------------- scripted mode

/** Read-only steps per known skill (typed inputs). Nothing here changes anything, whatever the skill would allow. */
function plan(skill: Skill, task: string): Array<{ tool: string; input: ToolInput }> {
  const has = (tool: string) => skill.tools.some((t) => t.name === tool);
  const url = /https:\/\/[^\s'"<>)]+/.exec(task)?.[0];
  const chart = /oci:\/\/[^\s'"<>)]+/.exec(task)?.[0];
  switch (skill.name) {
    case 'kube-inspector':
    case 'kube-operator':
      return [
        ...(has('get') ? [{ tool: 'get', input: { resource: 'pods', output: 'wide' } }, { tool: 'get', input: { resource: 'deployments' } }] : []),
        ...(has('events') ? [{ tool: 'events', input: { types: 'Warning' } }] : []),
      ];
    case 'http-fetch':
      return url && has('fetch') ? [{ tool: 'fetch', input: { url, include: true } }] : [];
    case 'helm':
      return chart && has('show') ? [{ tool: 'show', input: { what: 'chart', chart } }] : [];
    default:
      return [];
  }
}

async function scripted(task: string, skills: Skill[]): Promise<string> {
  const sections = [`Task: ${cut(task, 300)}`, `Skills: ${skills.map((s) => `${s.name}${s.enabled ? '' : ' (off)'}`).join(', ') || 'none'}`];
  for (const skill of skills) {
    if (!skill.enabled) continue;
    const steps = plan(skill, task);
    if (steps.length === 0) {
      sections.push(`${skill.name}: tools ${skill.tools.map((t) => t.name).join(', ')} (no step planned for this task)`);
      continue;
    }
    for (const step of steps) {
      const { text } = await call(skill, step.tool, { input: step.input });
      sections.push(`$ ${skill.name} ${step.tool} ${JSON.stringify(step.input)}\n${cut(text.trim(), 1200)}`);
    }
  }
  return sections.join('\n\n');
}

// ----------------------------------------------------------------------------------------------- model mode

interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

async function chat(messages: ChatMessage[], tools: unknown[]): Promise<ChatMessage> {
  const base = (process.env.MODEL_URL ?? '').replace(/\/+$/, '');
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(process.env.MODEL_API_KEY ? { authorization: `Bearer ${process.env.MODEL_API_KEY}` } : {}) },
    body: JSON.stringify({ model: process.env.MODEL_NAME ?? 'gpt-4o-mini', messages, tools, tool_choice: 'auto' }),
    signal: AbortSignal.timeout(120_000),
  });
  if (!res.ok) throw new Error(`model endpoint answered ${res.status}: ${cut(await res.text(), 300)}`);
  const body = await res.json() as { choices?: Array<{ message?: ChatMessage }> };
  const message = body.choices?.[0]?.message;
  if (!message) throw new Error('model endpoint answered without a message');
  return message;
}

async function withModel(task: string, skills: Skill[]): Promise<string> {
  const byFunction = new Map<string, { skill: Skill; tool: Tool }>();
  const tools = skills.filter((s) => s.enabled).flatMap((skill) => skill.tools.map((tool) => {
    const name = `${skill.name}__${tool.name}`.slice(0, 64);
    byFunction.set(name, { skill, tool });
    const parameters = tool.freeArguments
      ? { type: 'object', properties: { args: { type: 'array', items: { type: 'string' }, description: `Arguments appended to: ${tool.command.join(' ')}` } }, required: ['args'] }
      : { ...(tool.parameters ?? { type: 'object', properties: {} }), additionalProperties: false };
    return { type: 'function', function: { name, description: `${skill.name}: ${tool.description ?? tool.command.join(' ')}`, parameters } };
  }));
  const messages: ChatMessage[] = [
    { role: 'system', content: [
      'You are an agent running in a Kubernetes pod. You act only through the tools offered; each runs a command',
      'in a skill sidecar from the parameters you give. Values a tool refuses come back as an error naming the',
      'parameter: do not try to get around them. Finish with a short answer for the person who gave you the task.',
      ...skills.filter((s) => s.instructions).map((s) => `\n--- Skill ${s.name} ---\n${s.instructions}`),
    ].join('\n') },
    { role: 'user', content: task },
  ];
  for (let step = 0; step < MAX_STEPS; step++) {
    const answer = await chat(messages, tools);
    messages.push({ role: 'assistant', content: answer.content ?? null, ...(answer.tool_calls ? { tool_calls: answer.tool_calls } : {}) });
    if (!answer.tool_calls?.length) return answer.content ?? '';
    for (const toolCall of answer.tool_calls) {
      const target = byFunction.get(toolCall.function.name);
      let content: string;
      if (!target) {
        content = `no such tool: ${toolCall.function.name}`;
      } else {
        let parsed: unknown;
        try {
          parsed = JSON.parse(toolCall.function.arguments || '{}');
        } catch {
          parsed = undefined;
        }
        const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
        const args = object?.args;
        if (!object) content = 'arguments must be a JSON object';
        else if (!target.tool.freeArguments) content = cut((await call(target.skill, target.tool.name, { input: object as ToolInput })).text, 8000);
        else if (Array.isArray(args) && args.every((a) => typeof a === 'string')) content = cut((await call(target.skill, target.tool.name, { args })).text, 8000);
        else content = 'arguments must be {"args": ["…"]}';
        console.log(JSON.stringify({ step, skill: target.skill.name, tool: target.tool.name, input: object }));
      }
      messages.push({ role: 'tool', tool_call_id: toolCall.id, content });
    }
  }
  return `stopped after ${MAX_STEPS} steps without a final answer`;
}

// ----------------------------------------------------------------------------------------------- main

async function report(text: string): Promise<void> {
  const result = cut(text, MAX_RESULT);
  console.log(result);
  await writeFile(RESULT_FILE, result).catch((err: unknown) => console.error(`cannot write ${RESULT_FILE}: ${String(err)}`));
}

try {
  const task = await readTask();
  const skills = await discover();
  await report(process.env.MODEL_URL ? await withModel(task, skills) : await scripted(task, skills));
} catch (err) {
  await report(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
