// The run's skills through MCP: the official TypeScript SDK as a client of `skillpod-exec mcp`, started as a child
// process. The MCP server holds no authority: every call goes to the skill's sidecar over /ipc, where the gate,
// the input checks, the argument policy and the audit line apply. The list follows switch-offs (list_changed).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema, type CallToolResult, type Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';

/** Settings of `skillpod-exec mcp` that the agent passes on; API keys and everything else stay with the agent. */
const PASSED_ENV = ['SKILLPOD_IPC_DIR', 'SKILLPOD_SKILLS_DIR', 'SKILLPOD_MCP_POLL_INTERVAL', 'PATH', 'HOME'];

export interface SkillTool {
  /** The name the model sees: the MCP name, shortened when a provider's 64-character limit requires it. */
  name: string;
  mcpName: string;
  description: string;
  inputSchema: McpTool['inputSchema'];
}

export class Skills {
  readonly client = new Client({ name: 'skillpod-agent', version: '0.1.0' });
  private tools: SkillTool[] = [];
  private stale = true;
  private readonly exec: string;
  private readonly timeoutMs: number;

  constructor(exec: string, timeoutMs: number) {
    this.exec = exec;
    this.timeoutMs = timeoutMs;
  }

  async connect(): Promise<void> {
    const env: Record<string, string> = {};
    for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    const transport = new StdioClientTransport({ command: this.exec, args: ['mcp'], env, stderr: 'inherit' });
    this.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.stale = true;
    });
    await this.client.connect(transport);
  }

  /** What the server says about the skills (each pack's SKILL.md, cut), for the model's instructions. */
  instructions(): string {
    return this.client.getInstructions() ?? '';
  }

  /** The tools now offered; listed again after a list_changed notification. */
  async list(): Promise<SkillTool[]> {
    if (!this.stale) return this.tools;
    this.stale = false;
    const all: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.client.listTools(cursor ? { cursor } : undefined);
      all.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    this.tools = all.map((t) => ({ name: modelToolName(t.name), mcpName: t.name, description: t.description ?? '', inputSchema: t.inputSchema }));
    return this.tools;
  }

  /** Calls a tool; whatever happens, the answer is text for the model, and `ok` says whether the call succeeded. */
  async call(mcpName: string, input: unknown): Promise<{ ok: boolean; text: string }> {
    try {
      const result = (await this.client.callTool(
        { name: mcpName, arguments: (input ?? {}) as Record<string, unknown> },
        undefined,
        { timeout: this.timeoutMs },
      )) as CallToolResult;
      const text = result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type} content]`)).join('\n');
      return { ok: !result.isError, text };
    } catch (err) {
      return { ok: false, text: `the call failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

/**
 * OpenAI allows function names of at most 64 characters from [a-zA-Z0-9_-]; <pack>__<tool> can reach 122. Longer
 * names keep their start and get a short hash of the whole name, so they stay distinct and stable.
 */
export function modelToolName(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (clean.length <= 64 && clean === name) return name;
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193) >>> 0;
  return `${clean.slice(0, 55)}_${h.toString(16).padStart(8, '0')}`;
}
