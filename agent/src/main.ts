// Skillpod's reference agent. It reads its task (SKILLPOD_TASK or /skillpod/task), uses the run's skills through MCP
// (`skillpod-exec mcp`, the official MCP SDK as client) and a model chosen by environment (any OpenAI-compatible
// chat completions endpoint, or the Anthropic Messages API, through the AI SDK), and reports its answer and token
// usage in the termination message, which the operator copies into the AgentRun's status.result and status.usage.
// docs/agents.md describes the settings. Node 24 runs this file as it is (type stripping).
import { readFile } from 'node:fs/promises';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, isStepCount, jsonSchema, tool, type LanguageModel, type ModelMessage, type ToolSet } from 'ai';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { writeReport, type Usage } from './report.ts';
import { Skills } from './skills.ts';

const SYSTEM = `You are an agent in a Kubernetes pod run by Skillpod. Your tools are the skills of this run, named
<skill>__<tool>. Each call runs in the skill's own sidecar under its checks: when a tool answers with an error, read
why (a refused parameter, a switched-off skill, a non-zero exit) and change what you do instead of repeating the
same call. Use as few calls as the task needs. When you are done, answer with the result of the task in plain text,
at most 3000 characters: that answer is the run's result.`;

function log(msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
}

async function readTask(cfg: Config): Promise<string> {
  const task = process.env.SKILLPOD_TASK || (await readFile(cfg.taskFile, 'utf8').catch(() => ''));
  if (!task.trim()) throw new ConfigError(`no task: SKILLPOD_TASK and ${cfg.taskFile} are empty`);
  return task.trim();
}

function model(cfg: Config): LanguageModel {
  if (cfg.provider === 'anthropic') {
    return createAnthropic({ apiKey: cfg.apiKey ?? 'unset', ...(cfg.baseURL ? { baseURL: cfg.baseURL } : {}) })(cfg.model);
  }
  // Chat completions: what every OpenAI-compatible server (vLLM, Ollama, LiteLLM, …) speaks.
  return createOpenAI({ apiKey: cfg.apiKey ?? 'unset', ...(cfg.baseURL ? { baseURL: cfg.baseURL } : {}) }).chat(cfg.model);
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n…(${text.length - max} more characters cut by the agent)`;
}

interface Outcome {
  result: string;
  ok: boolean;
  usage: Usage;
}

async function run(cfg: Config, skills: Skills, task: string, usage: Usage): Promise<Outcome> {
  const instructions = [SYSTEM, skills.instructions(), cfg.instructions].filter(Boolean).join('\n\n');
  const messages: ModelMessage[] = [{ role: 'user', content: task }];
  const llm = model(cfg);
  let lastText = '';
  for (let step = 1; step <= cfg.maxSteps; step++) {
    // One model call per step, with the tools as they are now: a skill switched off since the last step is gone.
    const tools: ToolSet = {};
    for (const t of await skills.list()) {
      tools[t.name] = tool({
        description: t.description,
        inputSchema: jsonSchema(t.inputSchema as Parameters<typeof jsonSchema>[0]),
        execute: async (input: unknown) => {
          const started = Date.now();
          const { ok, text } = await skills.call(t.mcpName, input);
          log('tool call', { step, tool: t.mcpName, ok, ms: Date.now() - started });
          return cut(ok ? text : `ERROR: ${text}`, cfg.maxToolResultChars);
        },
      });
    }
    const r = await generateText({
      model: llm, instructions, messages, tools, stopWhen: isStepCount(1), maxRetries: cfg.maxRetries,
      ...(cfg.maxOutputTokens ? { maxOutputTokens: cfg.maxOutputTokens } : {}),
    });
    usage.inputTokens += r.totalUsage.inputTokens ?? 0;
    usage.outputTokens += r.totalUsage.outputTokens ?? 0;
    messages.push(...r.responseMessages);
    if (r.text) lastText = r.text;
    log('step', { step, finishReason: r.finishReason, toolCalls: r.toolCalls.map((c) => c.toolName) });
    if (r.finishReason !== 'tool-calls' || r.toolCalls.length === 0) {
      return { result: r.text.trim() || '(the model finished without an answer)', ok: r.finishReason !== 'error', usage };
    }
  }
  const last = lastText ? ` Its last words: ${lastText.trim()}` : '';
  return { result: `Stopped: the step limit (${cfg.maxSteps} model calls) was reached before the model gave a final answer.${last}`, ok: false, usage };
}

async function main(): Promise<number> {
  let cfg: Config;
  try {
    cfg = loadConfig();
  } catch (err) {
    const msg = `agent configuration: ${err instanceof Error ? err.message : String(err)}`;
    log(msg);
    await writeReport(process.env.AGENT_RESULT_FILE || '/dev/termination-log', msg).catch(() => undefined);
    return 1;
  }
  const skills = new Skills(cfg.exec, cfg.toolTimeoutMs);
  let outcome: Outcome;
  const usage: Usage = { inputTokens: 0, outputTokens: 0, model: cfg.model };
  process.once('SIGTERM', () => {
    log('SIGTERM: stopping');
    void writeReport(cfg.resultFile, 'Stopped by SIGTERM before the model gave a final answer.', usage).finally(() => process.exit(143));
  });
  try {
    const task = await readTask(cfg);
    await skills.connect();
    log('connected', { tools: (await skills.list()).map((t) => t.mcpName), provider: cfg.provider, model: cfg.model });
    outcome = await run(cfg, skills, task, usage);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log('failed', { error: msg });
    outcome = { result: `The agent failed: ${msg}`, ok: false, usage };
  } finally {
    await skills.close();
  }
  process.stdout.write(`${outcome.result}\n`);
  await writeReport(cfg.resultFile, outcome.result, outcome.usage);
  return outcome.ok ? 0 : 1;
}

process.exitCode = await main();
