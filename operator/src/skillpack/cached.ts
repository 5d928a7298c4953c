// A SkillPack as the informer cache holds it: parsed once where it enters the cache, or the schema's issues (the pack
// controller reports them). Both controllers read packs only through this view.
import { API_VERSION, parseSkillPack, type FieldIssue, type SkillPack, type SkillPackStatus } from '../api/index.ts';
import { cachedMeta, type CachedMeta, type KubeObject } from '../runtime/index.ts';

export type CachedPack =
  | { apiVersion: string; kind: 'SkillPack'; metadata: CachedMeta; pack: SkillPack; issues?: undefined; status?: SkillPackStatus }
  | { apiVersion: string; kind: 'SkillPack'; metadata: CachedMeta; pack?: undefined; issues: FieldIssue[]; status?: SkillPackStatus };

export function packForCache(obj: KubeObject): CachedPack {
  const metadata = cachedMeta(obj);
  const parsed = parseSkillPack({ ...obj, metadata });
  const status = (obj as { status?: SkillPackStatus }).status;
  if (parsed.ok) return { apiVersion: API_VERSION, kind: 'SkillPack', metadata, pack: parsed.value, ...(status ? { status } : {}) };
  return { apiVersion: API_VERSION, kind: 'SkillPack', metadata, issues: parsed.issues, ...(status ? { status } : {}) };
}
