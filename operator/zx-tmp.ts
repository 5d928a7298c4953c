import { DEFINITIONS, buildCRD, renderYAML } from './src/api/crd.ts';
import { structuralProblems, undocumentedFields } from './src/api/structural.ts';
for (const d of DEFINITIONS) {
  const crd = buildCRD(d) as any;
  const s = crd.spec.versions[0].schema.openAPIV3Schema;
  console.log(d.names.kind, structuralProblems(s), undocumentedFields(s));
  if (process.argv[2]) console.log(renderYAML(crd));
}
