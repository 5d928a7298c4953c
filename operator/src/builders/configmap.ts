// The run's ConfigMap: the task (key `task`, mounted at /skillpod/task) and one SKILL.md per pack (key
// `<pack>.md`, mounted at /skills/<pack>/SKILL.md). Both are mounted with subPath, so later edits do not reach a
// running pod. Once the pod exists, pass its grant snapshot: every key the pod mounts is then kept, with a stub for
// a pack that has gone, so a container that has yet to start never meets a missing key.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { AgentRun, SkillPack } from '../api/index.ts';
import { EXECUTOR_PATH } from './pod-paths.ts';
import { skillNames, type GrantSnapshot, type PackMap } from './grants.ts';
import { runLabels } from './labels.ts';
import { skillDocKey, TASK_KEY } from './names.ts';
import { ownerReference } from './owner.ts';
import type { RunRef } from './run.ts';

/**
 * SKILL.md in the Agent Skills layout: YAML front matter (name, description) unless the instructions bring their
 * own, the pack's instructions, and how to call its tools through the executor.
 */
export function renderSkillDoc(pack: SkillPack): string {
  const name = pack.metadata.name ?? '';
  const instructions = (pack.spec.instructions ?? '').trim();
  const parts: string[] = [];
  if (!instructions.startsWith('---\n')) {
    parts.push(`---\nname: ${name}\ndescription: ${JSON.stringify(pack.spec.description)}\n---`);
  }
  if (instructions) parts.push(instructions);
  const tools = pack.spec.tools.map((t) => {
    const what = t.description ? `${t.description.trim()} ` : '';
    return `- \`${t.name}\`: ${what}Runs \`${t.command.join(' ')}\` followed by your arguments; times out after ${t.timeoutSeconds}s.`;
  });
  parts.push(
    [
      '## Tools',
      '',
      `Call a tool with \`${EXECUTOR_PATH} call ${name} <tool> [args...]\` (its output and exit code are passed through);`,
      `list every tool with \`${EXECUTOR_PATH} list\`. Calls are refused while the skill is switched off.`,
      '',
      ...tools,
    ].join('\n'),
  );
  return `${parts.join('\n\n')}\n`;
}

/** What a pack that has gone since the pod was created leaves in its place. */
export function renderMissingSkillDoc(name: string): string {
  return `---\nname: ${name}\ndescription: "No longer available."\n---\n\nThe SkillPack ${name} was removed or is not Ready; its tools refuse calls.\n`;
}

export function buildConfigMap(run: RunRef, agentRun: Pick<AgentRun, 'spec'>, packs: PackMap, snapshot?: GrantSnapshot): V1ConfigMap {
  const names = [...new Set([...skillNames(agentRun), ...Object.keys(snapshot?.packs ?? {})])].sort();
  const data: Record<string, string> = {};
  for (const name of names) {
    const pack = packs.get(name);
    if (pack) data[skillDocKey(name)] = renderSkillDoc(pack);
    else if (snapshot?.packs[name]) data[skillDocKey(name)] = renderMissingSkillDoc(name);
  }
  data[TASK_KEY] = agentRun.spec.task;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: run.childName, namespace: run.namespace, labels: runLabels(run), ownerReferences: [ownerReference(run)] },
    data,
  };
}
