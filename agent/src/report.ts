// The termination message: what the operator copies into the AgentRun's status (docs/agents.md, "Reporting a
// result"). The envelope {"skillpod":"v1","result":"…","usage":{…}} carries the answer and the token usage; plain
// text would be read as the result alone. Kubernetes keeps 4096 bytes of it, so the result is cut to fit.
import { writeFile } from 'node:fs/promises';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  model?: string;
}

/** Kubernetes' cap on one container's termination message. */
export const TERMINATION_MESSAGE_MAX_BYTES = 4096;

export function envelope(result: string, usage?: Usage, maxBytes = TERMINATION_MESSAGE_MAX_BYTES): string {
  const encode = (r: string) => JSON.stringify(usage ? { skillpod: 'v1', result: r, usage } : { skillpod: 'v1', result: r });
  let text = encode(result);
  let cut = result;
  while (Buffer.byteLength(text) > maxBytes && cut.length > 0) {
    const excess = Buffer.byteLength(text) - maxBytes;
    cut = [...cut].slice(0, -Math.max(1, Math.ceil(excess / 4)) - 1).join('');
    text = encode(`${cut}…`);
  }
  return text;
}

export async function writeReport(file: string, result: string, usage?: Usage): Promise<void> {
  await writeFile(file, envelope(result, usage));
}
