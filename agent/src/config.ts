// The agent's settings, all from its environment (docs/agents.md lists them). Nothing here is secret but the API key,
// which comes from a Secret through spec.agent.env and is handed to the model provider only.

export type Provider = 'openai' | 'anthropic';

export interface Config {
  provider: Provider;
  model: string;
  baseURL: string | undefined;
  apiKey: string | undefined;
  maxSteps: number;
  maxRetries: number;
  maxOutputTokens: number | undefined;
  toolTimeoutMs: number;
  maxToolResultChars: number;
  resultFile: string;
  instructions: string | undefined;
  /** The executor binary whose `mcp` subcommand serves the run's skills. */
  exec: string;
  taskFile: string;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const provider = (env.MODEL_PROVIDER ?? 'openai').trim().toLowerCase();
  if (provider !== 'openai' && provider !== 'anthropic') {
    throw new ConfigError(`MODEL_PROVIDER=${provider}: want openai (any OpenAI-compatible endpoint) or anthropic`);
  }
  const model = env.MODEL_NAME?.trim();
  if (!model) throw new ConfigError('MODEL_NAME is not set: the model to use, such as gpt-4.1 or claude-sonnet-4-5');
  const keyFallback = provider === 'anthropic' ? env.ANTHROPIC_API_KEY : env.OPENAI_API_KEY;
  return {
    provider,
    model,
    baseURL: env.MODEL_BASE_URL?.trim() || undefined,
    apiKey: env.MODEL_API_KEY || keyFallback || undefined,
    maxSteps: int(env, 'AGENT_MAX_STEPS', 20, 1, 1000),
    maxRetries: int(env, 'AGENT_MAX_RETRIES', 4, 0, 20),
    maxOutputTokens: env.AGENT_MAX_OUTPUT_TOKENS ? int(env, 'AGENT_MAX_OUTPUT_TOKENS', 0, 1, 1_000_000) : undefined,
    toolTimeoutMs: int(env, 'AGENT_TOOL_TIMEOUT_SECONDS', 3600, 1, 86_400) * 1000,
    maxToolResultChars: int(env, 'AGENT_MAX_TOOL_RESULT_CHARS', 50_000, 1000, 10_000_000),
    resultFile: env.AGENT_RESULT_FILE || '/dev/termination-log',
    instructions: env.AGENT_INSTRUCTIONS || undefined,
    exec: env.SKILLPOD_EXEC || '/skillpod/bin/skillpod-exec',
    taskFile: env.AGENT_TASK_FILE || '/skillpod/task',
  };
}

function int(env: NodeJS.ProcessEnv, key: string, def: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`${key}=${raw}: want an integer from ${min} to ${max}`);
  return n;
}
