// The files generated from the API schemas, as (path, content) pairs relative to the repository root. One
// function serves the generator script and the staleness test, so both see the same bytes.
import { buildCRD, crdFileName, DEFINITIONS, renderYAML } from './crd.ts';
import { renderAPIDocs } from './docs.ts';
import { structuralProblems } from './structural.ts';

export interface GeneratedFile {
  path: string;
  content: string;
}

export function generatedFiles(): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const def of DEFINITIONS) {
    const crd = buildCRD(def) as { spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] } };
    for (const version of crd.spec.versions) {
      const problems = structuralProblems(version.schema.openAPIV3Schema);
      // Refuse to write what the API server would reject, or what CEL could not estimate.
      if (problems.length) throw new Error(`${def.names.kind}: schema is not structural and bounded:\n${problems.join('\n')}`);
    }
    files.push({ path: `crds/${crdFileName(def)}`, content: renderYAML(crd) });
  }
  files.push({ path: 'docs/api.md', content: renderAPIDocs() });
  return files;
}
