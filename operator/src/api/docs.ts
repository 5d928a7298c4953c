// docs/api.md, rendered from the same structural schemas as the CRDs, so the reference cannot drift from what
// the API server enforces. Pure.
import { API_VERSION, CATEGORY } from './constants.ts';
import { crdName, DEFINITIONS, type KindDefinition } from './crd.ts';
import { toKindSchema, type Schema } from './convert.ts';

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
}

function code(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // A backtick inside inline code needs a longer fence.
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function typeOf(node: Schema): string {
  if (node['x-kubernetes-int-or-string'] === true) return 'int-or-string';
  if (node.type === 'array' && isObject(node.items)) {
    const list = node['x-kubernetes-list-type'] === 'map' ? ` (keyed by ${(node['x-kubernetes-list-map-keys'] as string[]).join(', ')})` : '';
    return `[]${typeOf(node.items)}${list}`;
  }
  if (node.type === 'object' && isObject(node.additionalProperties)) return `map[string]${typeOf(node.additionalProperties)}`;
  if (node.type === 'integer') return 'integer';
  if (node.format === 'date-time') return 'string (date-time)';
  return String(node.type);
}

function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function range(min: unknown, max: unknown, unit: string): string | undefined {
  if (min === undefined && max === undefined) return undefined;
  if (min !== undefined && max !== undefined) return `${text(min)}–${text(max)}${unit}`;
  return min !== undefined ? `≥ ${text(min)}${unit}` : `≤ ${text(max)}${unit}`;
}

function limits(node: Schema, required: boolean): string {
  const parts: string[] = [];
  if (required) parts.push('**required**');
  if (Array.isArray(node.enum)) parts.push(`one of ${node.enum.map(code).join(', ')}`);
  const numeric = range(node.minimum, node.maximum, '');
  if (numeric) parts.push(numeric);
  const chars = range(node.minLength, node.maxLength, ' chars');
  if (chars) parts.push(chars);
  const items = range(node.minItems, node.maxItems, ' items');
  if (items) parts.push(items);
  const entries = range(node.minProperties, node.maxProperties, ' entries');
  if (entries) parts.push(entries);
  if (typeof node.pattern === 'string') parts.push(`pattern ${code(node.pattern)}`);
  return parts.join('; ');
}

/** The message, and the rule itself when it is short enough to read at a glance. */
function ruleText(r: Schema): string {
  const rule = String(r.rule);
  const transition = rule.includes('oldSelf') ? ' (on update)' : '';
  return rule.length <= 120 ? `${String(r.message)}${transition}: ${code(rule)}` : `${String(r.message)}${transition}`;
}

interface Row {
  path: string;
  node: Schema;
  required: boolean;
}

interface Note {
  path: string;
  text: string;
}

/** Every field below `node`, depth first, with list items written `[]` and map values `[*]`. */
function walk(node: Schema, path: string, rows: Row[], rules: Note[], checks: Note[]): void {
  const at = path || '(object)';
  for (const r of (node['x-kubernetes-validations'] as Schema[] | undefined) ?? []) {
    rules.push({ path: at, text: ruleText(r) });
  }
  for (const c of (node['x-skillpod-checks'] as string[] | undefined) ?? []) checks.push({ path: at, text: c });
  const visitChildren = (holder: Schema, prefix: string) => {
    const props = isObject(holder.properties) ? holder.properties : {};
    const required = Array.isArray(holder.required) ? (holder.required as string[]) : [];
    for (const [key, child] of Object.entries(props)) {
      if (!isObject(child)) continue;
      const childPath = prefix ? `${prefix}.${key}` : key;
      rows.push({ path: childPath, node: child, required: required.includes(key) });
      walk(child, childPath, rows, rules, checks);
    }
  };
  if (node.type === 'object' && isObject(node.properties)) visitChildren(node, path);
  if (isObject(node.items)) {
    const items = node.items;
    for (const r of (items['x-kubernetes-validations'] as Schema[] | undefined) ?? []) {
      rules.push({ path: `${path}[]`, text: ruleText(r) });
    }
    for (const c of (items['x-skillpod-checks'] as string[] | undefined) ?? []) checks.push({ path: `${path}[]`, text: c });
    if (isObject(items.properties)) visitChildren(items, `${path}[]`);
  }
  if (isObject(node.additionalProperties)) walk(node.additionalProperties, `${path}[*]`, rows, rules, checks);
}

function kindSection(def: KindDefinition): string {
  const { kind, plural, shortNames, scope } = def.names;
  const schema = toKindSchema(def.schema, { docs: true });
  const out: string[] = [];
  out.push(`## ${kind}`, '');
  out.push(text(schema.description ?? ''), '');
  out.push(
    `- CRD \`${crdName(def)}\`, ${scope === 'Cluster' ? 'cluster-scoped' : 'namespaced'}; plural \`${plural}\`, short name${shortNames.length > 1 ? 's' : ''} ${shortNames.map(code).join(', ')}, category \`${CATEGORY}\`; status subresource.`,
  );
  if (def.selectableFields?.length) out.push(`- Field selectors: ${def.selectableFields.map((f) => code(f.slice(1))).join(', ')}.`);
  out.push('', '`kubectl get` columns:', '', '| Column | From | Shown |', '|---|---|---|');
  for (const c of def.printerColumns) out.push(`| ${c.name} | ${code(c.jsonPath)} | ${c.priority ? 'with `-o wide`' : 'always'} |`);
  out.push('');

  const rows: Row[] = [];
  const rules: Note[] = [];
  const checks: Note[] = [];
  const props = isObject(schema.properties) ? schema.properties : {};
  for (const r of (schema['x-kubernetes-validations'] as Schema[] | undefined) ?? []) {
    rules.push({ path: '(object)', text: ruleText(r) });
  }
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  for (const top of ['spec', 'status']) {
    const node = props[top];
    if (!isObject(node)) continue;
    rows.push({ path: top, node, required: required.includes(top) });
    walk(node, top, rows, rules, checks);
  }
  out.push('### Fields', '', '| Field | Type | Default | Limits | Description |', '|---|---|---|---|---|');
  for (const { path, node, required: req } of rows) {
    const def = node.default !== undefined ? code(node.default) : '';
    out.push(`| ${code(path)} | ${cell(typeOf(node))} | ${def} | ${cell(limits(node, req))} | ${cell(text(node.description ?? ''))} |`);
  }
  out.push('', '### Rules checked by the API server', '');
  out.push('CEL rules (`x-kubernetes-validations`); the message is what `kubectl` shows when a rule refuses an object.', '');
  for (const r of rules) out.push(`- ${code(r.path)}: ${r.text}`);
  if (checks.length) {
    out.push('', '### Checked by the operator', '');
    out.push('The API server cannot check these cheaply; the operator reports a violation in the status of the object.', '');
    for (const c of checks) out.push(`- ${code(c.path)}: ${c.text}`);
  }
  out.push('');
  return out.join('\n');
}

export function renderAPIDocs(): string {
  const head = [
    `# API reference: \`${API_VERSION}\``,
    '',
    '<!-- Generated by operator/scripts/gen-crds.ts from operator/src/api. Do not edit: run `npm run gen:crds`. -->',
    '',
    'The zod schemas in `operator/src/api/` are the single source of truth; the CRDs in `crds/` and this page are',
    'generated from them. `kubectl explain agentrun.spec` shows the same descriptions. List items are written `[]`,',
    'map values `[*]`. Limits count characters, items or entries.',
    '',
    'Design decisions:',
    '',
    '- Both kinds are in the `skillpod` category (`kubectl get skillpod`), not in `all`: `kubectl get all` is meant',
    '  for core workloads, and a cluster-scoped kind there would be listed from every namespace.',
    '- `spec.task`, `spec.agent` and `spec.timeoutSeconds` of an AgentRun are immutable through transition rules',
    '  written on `spec`: a rule on an optional field only runs when both the old and the new value exist, so it',
    '  would let the field be added or removed.',
    '- Label and annotation keys are checked by CEL rules over map keys, as CRD schemas have no `propertyNames`.',
    '  Keys under `skillpod.io/` (and the `app.kubernetes.io/managed-by` label) are reserved for the operator, which',
    '  puts its own labels and the `skillpod.io/disabled-skills` gate annotation on the pod.',
    '- `status.skillsReady` exists for the Skills column: a printer column shows only the first value of a list.',
    '',
  ];
  return [...head, TYPED_TOOLS, ...DEFINITIONS.map(kindSection)].join('\n');
}

/** The guide to writing a tool: what the field tables below cannot say on their own. */
const TYPED_TOOLS = `## Writing a SkillPack tool

A tool is a command the agent may run in the skill's sidecar. There are three kinds, and the first is the default:

- **Typed** (\`parameters\` and \`args\`): the agent sends a JSON object; the executor checks it against
  \`parameters\` and renders the argument vector from \`args\` itself. The agent never writes a flag.
- **No input** (neither): the command runs as written, e.g. \`[kubectl, version, --client]\`.
- **Free arguments** (\`freeArguments: true\`): the agent appends its own arguments, checked by \`argPolicy\`. The
  exception: a CLI's flag set is larger than any list (config files, plugins, options that read files), so whatever
  the sidecar can read must be assumed readable by the agent. The default grant policy refuses free-argument tools in
  packs that hold RBAC rules or env from a Secret (\`freeArgumentsWithCredentials\`), and every pack says in its
  \`FreeArguments\` condition whether it has any.

A typed tool, complete:

\`\`\`yaml
tools:
  - name: logs
    description: Logs of one pod's container, never followed.
    command: [kubectl, logs]
    timeoutSeconds: 60
    parameters:
      type: object
      properties:
        pod: {type: string, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253, description: Pod name.}
        container: {type: string, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63}
        tail: {type: integer, minimum: 1, maximum: 5000, description: Lines from the end.}
        previous: {type: boolean, description: The previous container instance.}
        labels: {type: array, maxItems: 4, items: {type: string, pattern: '^[a-z0-9./-]+=[a-z0-9._-]+$'}}
      required: [pod]
    args:
      - ["{pod}"]                      # a bare position: a value starting with - is refused
      - ["--container", "{container}"] # dropped when container is absent
      - ["--tail={tail}"]              # a placeholder inside text
      - ["--previous", "{previous}"]   # a boolean: the group when true, nothing when false or absent
      - ["--selector", "{labels}"]     # an array: the group once per item
\`\`\`

The agent calls it with \`skillpod-exec call <pack> logs --input '{"pod":"web-1","tail":100,"previous":true}'\`,
which runs \`kubectl logs web-1 --tail=100 --previous\`. \`skillpod-exec list\` and \`GET /v1/tools\` show
\`parameters\` as written here, ready to hand to a model as a function schema (docs/ipc.md).

\`parameters\` is a JSON Schema subset and nothing else is accepted: \`type: object\`, \`properties\` (at most 32,
names of letters, digits and \`_\`) and \`required\`. A parameter is a \`string\` (\`enum\`, \`pattern\` in RE2 with JSON
Schema's unanchored meaning, so anchor it, \`minLength\`, \`maxLength\`), an \`integer\` (\`minimum\`, \`maximum\`), a
\`boolean\`, or an \`array\` of strings (\`items\` required, \`maxItems\` at most 256). The input may hold no other key.

\`args\` is a list of groups, rendered in order after \`command\`; each group is one to eight strings, each string one
argument:

1. A group without placeholders is emitted as written.
2. \`{name}\` is replaced by the parameter's value (an integer in decimal). Only \`{\` + a parameter name + \`}\` is a
   placeholder: \`{.metadata.name}\` stays literal text. Every placeholder must be declared, and every parameter used.
3. A group is dropped when a parameter it names is absent, or is a boolean that is false.
4. A boolean placeholder is a whole element and renders nothing itself: the group's other elements are the flag.
5. A group that names an array parameter is emitted once per item (one array parameter per group).
6. A value that starts with \`-\` is refused when its element starts with a placeholder and does not directly follow
   a literal flag of its group (a bare position: \`{pod}\` alone, or \`{name}\` after \`{kind}\`), whatever the schema
   says: a value can never become a flag. Values with NUL are refused everywhere.

A refused input is an HTTP 400 whose error names the parameter; nothing runs. The API server refuses a pack whose
template breaks rules 2, 4 or 5 (the SkillPack admission policy), the operator keeps such a pack not Ready, and the
executor refuses to start with it: all three check the same rules. Write values that go after a flag as their own
element (\`["--selector", "{labels}"]\`) or embedded (\`--tail={tail}\`); both are option values, not flags.

Free-argument tools keep \`argPolicy\`; prefer its allowlists (\`allowedFlags\` with a value pattern per flag, and
\`allowedPatterns\` for positional arguments) to \`deniedFlags\`, and set \`parser: pflag\` for kubectl, helm and other
cobra tools (no abbreviated long flags) or leave \`getopt\` (GNU tools, curl: prefixes of long flags count).
`;
