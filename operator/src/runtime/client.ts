import { isNotFound } from './errors.ts';
import type { KubeHttp, KubeRequest, QueryValue } from './kube-http.ts';
import { BUILTIN_TYPES, collectionPath, objectPath, type KubeObject, type ResourceType } from './resource.ts';

/**
 * A thin typed client on `KubeHttp`: every path (resource.ts, names and namespaces encoded) and every patch of the
 * operator is made here, so the request shapes are written once. It sends JSON and returns JSON as the server gave
 * it (no models, no Date conversion); `T` is the caller's claim about that JSON. Errors are KubeHttp's `ApiError`s.
 *
 * A kind is named by `{apiVersion, kind}` (looked up among the built-in types and the `types` given to the
 * constructor) or by its `ResourceType`.
 */

export type TypeRef = ResourceType | { apiVersion: string; kind: string };

/** An object to send: any JSON object with apiVersion, kind and metadata (a literal may carry spec, data, …). */
export type ObjectBody = KubeObject | (KubeObject & Record<string, unknown>);

/** Which object: `namespace` for namespaced kinds only. */
export interface ObjectName {
  namespace?: string | undefined;
  name: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * For a write whose caller needs only to know that it succeeded: the answer is read and dropped unparsed, and the
 * call resolves to undefined. Most of the operator's writes are such, and parsing the objects they echo back was
 * a tenth of its CPU, garbage included (docs/benchmarks.md).
 */
export interface Discard {
  discard: true;
}

export interface WriteOptions extends CallOptions {
  /** Default: the client's `fieldManager`. */
  fieldManager?: string;
}

export interface ListOptions extends CallOptions {
  /** For namespaced kinds: one namespace; absent, all of them. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface ApplyOptions extends WriteOptions {
  /** Take over fields another manager owns (default true: the operator's desired state wins, as controllers do). */
  force?: boolean;
  /** `status` to apply the status subresource. */
  subresource?: string;
}

export interface PatchOptions extends WriteOptions {
  /** Sent as `metadata.resourceVersion` in the patch: the server answers 409 Conflict if the object has moved on. */
  resourceVersion?: string;
  /** `status` for the status subresource. */
  subresource?: string;
}

export interface DeleteOptions extends CallOptions {
  /** Sent in the query, not as a body: undici closes the connection after a DELETE that carries a body. */
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  /** An object already gone is success: `delete` resolves false instead of throwing NotFound. */
  notFoundOk?: boolean;
}

export interface ResourceClientOptions {
  /** The field manager of every write unless a call names another; server-side apply requires one. */
  fieldManager?: string;
  /** Custom resources (and any built-in kind not in BUILTIN_TYPES) to know by `{apiVersion, kind}`. */
  types?: readonly ResourceType[];
}

const MERGE_PATCH = 'application/merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

export class ResourceClient {
  readonly #http: Pick<KubeHttp, 'request'>;
  readonly #fieldManager: string | undefined;
  readonly #types = new Map<string, ResourceType>();

  constructor(http: Pick<KubeHttp, 'request'>, options: ResourceClientOptions = {}) {
    this.#http = http;
    this.#fieldManager = options.fieldManager;
    for (const t of [...BUILTIN_TYPES, ...(options.types ?? [])]) this.#types.set(typeKey(t.apiVersion, t.kind), t);
  }

  /** The full type of a kind; throws for a kind it does not know. */
  type(ref: TypeRef): ResourceType {
    if ('plural' in ref) return ref;
    const type = this.#types.get(typeKey(ref.apiVersion, ref.kind));
    if (!type) throw new Error(`no resource type known for ${ref.kind} ${ref.apiVersion}: add it to the client's types`);
    return type;
  }

  async get<T = KubeObject>(type: TypeRef, object: ObjectName, options: CallOptions = {}): Promise<T> {
    return await this.#send<T>({ path: this.#objectPath(type, object), ...call(options) });
  }

  /** `get`, with an object that does not exist resolving to undefined. */
  async find<T = KubeObject>(type: TypeRef, object: ObjectName, options: CallOptions = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(type, object, options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T = KubeObject>(type: TypeRef, options: ListOptions = {}): Promise<ObjectList<T>> {
    const t = this.type(type);
    if (options.namespace !== undefined && !t.namespaced) throw new Error(`${t.kind} is cluster-scoped: list it without a namespace`);
    return await this.#send<ObjectList<T>>({
      path: collectionPath({ apiVersion: t.apiVersion, plural: t.plural, ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) }),
      query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: options.limit, continue: options.continue,
        resourceVersion: options.resourceVersion },
      ...call(options),
    });
  }

  /** POST to the object's collection (its apiVersion, kind and namespace say which). */
  async create(object: ObjectBody, options: WriteOptions & Discard): Promise<void>;
  async create<T = KubeObject>(object: ObjectBody, options?: WriteOptions): Promise<T>;
  async create<T>(object: ObjectBody, options: WriteOptions & Partial<Discard> = {}): Promise<T> {
    const t = this.type(typeOf(object));
    return await this.#send<T>({ method: 'POST', path: collectionPath(this.#ref(t, object.metadata?.namespace)), body: object, ...this.#write(options) });
  }

  /** PUT the whole object; its `metadata.resourceVersion`, if set, makes this a compare-and-swap (409 if stale). */
  async replace<T = KubeObject>(object: ObjectBody, options: WriteOptions = {}): Promise<T> {
    return await this.#send<T>({ method: 'PUT', path: this.#objectPath(typeOf(object), nameOf(object)), body: object, ...this.#write(options) });
  }

  /** Server-side apply of `object` (its apiVersion, kind, namespace and name say where), forced by default. */
  async apply(object: ObjectBody, options: ApplyOptions & Discard): Promise<void>;
  async apply<T = KubeObject>(object: ObjectBody, options?: ApplyOptions): Promise<T>;
  async apply<T>(object: ObjectBody, options: ApplyOptions & Partial<Discard> = {}): Promise<T> {
    const write = this.#write(options);
    if (write.query.fieldManager === undefined) throw new Error('server-side apply needs a field manager');
    return await this.#send<T>({
      method: 'PATCH', path: this.#objectPath(typeOf(object), nameOf(object), options.subresource), contentType: APPLY_PATCH, body: object,
      ...write, query: { ...write.query, force: options.force ?? true },
    });
  }

  /** JSON merge patch (RFC 7386) of the object, or of a subresource; with `resourceVersion` as a precondition. */
  async mergePatch(type: TypeRef, object: ObjectName, patch: Record<string, unknown>, options: PatchOptions & Discard): Promise<void>;
  async mergePatch<T = KubeObject>(type: TypeRef, object: ObjectName, patch: Record<string, unknown>, options?: PatchOptions): Promise<T>;
  async mergePatch<T>(type: TypeRef, object: ObjectName, patch: Record<string, unknown>, options: PatchOptions & Partial<Discard> = {}): Promise<T> {
    const body = options.resourceVersion === undefined ? patch
      : { ...patch, metadata: { ...(patch.metadata as Record<string, unknown> | undefined), resourceVersion: options.resourceVersion } };
    return await this.#send<T>({ method: 'PATCH', path: this.#objectPath(type, object, options.subresource), contentType: MERGE_PATCH, body, ...this.#write(options) });
  }

  /** `mergePatch` of the status subresource. */
  async mergePatchStatus<T = KubeObject>(type: TypeRef, object: ObjectName, patch: Record<string, unknown>, options: Omit<PatchOptions, 'subresource'> = {}): Promise<T> {
    return await this.mergePatch<T>(type, object, patch, { ...options, subresource: 'status' });
  }

  /** Deletes; resolves true when the server took the delete, false when the object was gone and `notFoundOk`. */
  async delete(type: TypeRef, object: ObjectName, options: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.#send({
        method: 'DELETE', path: this.#objectPath(type, object),
        query: { propagationPolicy: options.propagationPolicy, gracePeriodSeconds: options.gracePeriodSeconds }, ...call(options), discardBody: true,
      });
      return true;
    } catch (err) {
      if (options.notFoundOk && isNotFound(err)) return false;
      throw err;
    }
  }

  #send<T>(req: KubeRequest): Promise<T> {
    if (req.query) req.query = Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== undefined));
    if (req.query && Object.keys(req.query).length === 0) delete req.query;
    return this.#http.request<T>(req);
  }

  #objectPath(type: TypeRef, object: ObjectName, subresource?: string): string {
    const t = this.type(type);
    return objectPath(this.#ref(t, object.namespace), object.name, subresource);
  }

  /** Where objects of `t` in `namespace` live; a namespaced kind needs one, a cluster-scoped kind must have none. */
  #ref(t: ResourceType, namespace: string | undefined): { apiVersion: string; plural: string; namespace?: string } {
    if (t.namespaced && !namespace) throw new Error(`${t.kind} is namespaced: a namespace is required`);
    if (!t.namespaced && namespace) throw new Error(`${t.kind} is cluster-scoped: no namespace (got ${JSON.stringify(namespace)})`);
    return { apiVersion: t.apiVersion, plural: t.plural, ...(namespace ? { namespace } : {}) };
  }

  #write(options: WriteOptions & Partial<Discard>): { query: Record<string, QueryValue>; discardBody?: boolean } & CallOptions {
    return { query: { fieldManager: options.fieldManager ?? this.#fieldManager }, ...call(options), ...(options.discard ? { discardBody: true } : {}) };
  }
}

function typeKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

function typeOf(object: KubeObject): { apiVersion: string; kind: string } {
  if (!object.apiVersion || !object.kind) throw new Error('the object has no apiVersion or kind');
  return { apiVersion: object.apiVersion, kind: object.kind };
}

function nameOf(object: KubeObject): ObjectName {
  const name = object.metadata?.name;
  if (!name) throw new Error(`the ${object.kind ?? 'object'} has no metadata.name`);
  return { namespace: object.metadata?.namespace, name };
}

function call(options: CallOptions): CallOptions {
  return { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
}
