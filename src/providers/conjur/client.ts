// Reads from Conjur: a variable (its current version or a pinned one) from
// /secrets/{account}/variable/{id}, the plain reads of a reconcile in one
// batch request (/secrets?variable_ids=..., base64-encoded so binary values
// stay binary), and dataFrom.find through the paged resource listing,
// filtered by name and by annotations (find.tags). A 401 means the access
// token lapsed: the client logs in again once and repeats the request.
import type { FindRef, RemoteRef } from '../../api/types.js';
import { compileLinear } from '../../util/linear-regexp.js';
import { NotFoundError } from '../errors.js';
import { MAX_FIND_RESULTS } from '../find.js';
import { mapFor, valueFor } from '../property.js';
import type { CallContext, ProviderClient, RemoteValue, RemoteValues } from '../provider.js';
import type { ConjurLogin } from './auth.js';
import { statusError, type ConjurHttp, type ConjurResponse } from './http.js';

/** Resources per listing page (Conjur's own clients use 100). */
const PAGE = 100;
/** Variable ids per batch request: the query string stays well inside common URL limits. */
const BATCH_URL_BUDGET = 6000;

interface Resource {
  id: string;
  annotations?: Array<{ name: string; value: string }>;
  secrets?: Array<{ version: number }>;
}

export class ConjurClient implements ProviderClient {
  readonly batchSize = 50;

  constructor(
    private readonly http: ConjurHttp,
    private readonly login: ConjurLogin,
  ) {}

  private get account(): string {
    return this.login.account;
  }

  private fullId(id: string): string {
    return `${this.account}:variable:${id}`;
  }

  /** A request with the store's access token; a 401 logs in again and repeats it once. */
  private async call(path: string, ctx: CallContext, headers: Record<string, string> = {}): Promise<ConjurResponse> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.http.send('GET', path, ctx, { ...headers, authorization: await this.login.header(ctx) });
      if (res.status !== 401 || attempt > 0) return res;
      this.login.forget();
    }
  }

  private async read(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const version = ref.version === undefined ? '' : `?version=${encodeURIComponent(ref.version)}`;
    const res = await this.call(`/secrets/${encodeURIComponent(this.account)}/variable/${encodeURIComponent(ref.key)}${version}`, ctx);
    if (res.status === 404 && ref.version !== undefined) throw new NotFoundError(ref.key, `version "${ref.version}" does not exist, or the variable does not, or this login may not see it`);
    if (res.status !== 200) throw statusError(res, `variable "${ref.key}"`, ref.key);
    return { value: new Uint8Array(res.body), source: { key: ref.key, version: ref.version } };
  }

  /** The variable's annotations (metadataPolicy Fetch), from its resource. */
  async getSecretMetadata(key: string, ctx: CallContext): Promise<{ metadata: Record<string, unknown>; source: { key: string } }> {
    const res = await this.call(`/resources/${encodeURIComponent(this.account)}/variable/${encodeURIComponent(key)}`, ctx);
    if (res.status !== 200) throw statusError(res, `variable "${key}"`, key);
    const resource = JSON.parse(res.body.toString('utf8')) as Resource;
    return { metadata: Object.fromEntries((resource.annotations ?? []).map((a) => [a.name, a.value])), source: { key } };
  }

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    return valueFor(ref, await this.read(ref, ctx));
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    return mapFor(ref, await this.read(ref, ctx));
  }

  /**
   * Plain reads in batch requests. Conjur answers a batch all or nothing, so
   * when one id fails the batch's ids are read one by one to say which.
   */
  async getSecrets(refs: RemoteRef[], ctx: CallContext): Promise<Array<RemoteValue | Error>> {
    const out: Array<RemoteValue | Error> = [];
    for (const chunk of chunks(refs.map((r) => r.key), (id) => encodeURIComponent(this.fullId(id)).length + 3, BATCH_URL_BUDGET, this.batchSize)) {
      const values = await this.batch(chunk, ctx);
      for (const key of chunk) {
        const ref = refs[out.length]!;
        if (values instanceof Map) {
          try {
            out.push(valueFor(ref, { value: values.get(key)!, source: { key } }));
          } catch (err) {
            out.push(err as Error);
          }
        } else out.push(await this.getSecret(ref, ctx).catch((err: unknown) => err as Error));
      }
    }
    return out;
  }

  /** Values by id, or the failed answer (a 404 or 403 for one of them). */
  private async batch(ids: string[], ctx: CallContext): Promise<Map<string, Uint8Array> | ConjurResponse> {
    const query = ids.map((id) => encodeURIComponent(this.fullId(id))).join(',');
    const res = await this.call(`/secrets?variable_ids=${query}`, ctx, { 'accept-encoding': 'base64' });
    if (res.status !== 200) {
      if ([401, 403, 404, 422].includes(res.status)) return res;
      throw statusError(res, `a batch of ${ids.length} variables`);
    }
    const body = JSON.parse(res.body.toString('utf8')) as Record<string, string>;
    const base64 = res.contentEncoding === 'base64';
    const values = new Map<string, Uint8Array>();
    for (const id of ids) {
      const value = body[this.fullId(id)];
      if (value === undefined) return res;
      values.set(id, base64 ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8'));
    }
    return values;
  }

  /** Variables the login may see, by name.regexp, path (an id prefix) and tags (annotations), then their values in batches. */
  async findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    const name = find.name ? compileLinear(find.name.regexp, 'find.name.regexp') : undefined;
    const prefix = find.path ? `${find.path.replace(/\/+$/, '')}/` : undefined;
    const ids: string[] = [];
    for (let offset = 0; ids.length < MAX_FIND_RESULTS; offset += PAGE) {
      const search = prefix ? `&search=${encodeURIComponent(prefix)}` : '';
      const res = await this.call(`/resources/${encodeURIComponent(this.account)}?kind=variable&limit=${PAGE}&offset=${offset}${search}`, ctx);
      if (res.status !== 200) throw statusError(res, 'the variable listing');
      const page = JSON.parse(res.body.toString('utf8')) as Resource[];
      for (const resource of page) {
        const id = resource.id.split(':').slice(2).join(':');
        if (!resource.secrets?.length) continue; // no value yet
        if (prefix && !id.startsWith(prefix)) continue;
        if (name && !name.test(id)) continue;
        const annotations = Object.fromEntries((resource.annotations ?? []).map((a) => [a.name, a.value]));
        if (find.tags && !Object.entries(find.tags).every(([k, v]) => annotations[k] === v)) continue;
        ids.push(id);
      }
      if (page.length < PAGE) break;
    }
    const values: Record<string, Uint8Array> = {};
    const read = await this.getSecrets(ids.map((key) => ({ key })), ctx);
    read.forEach((result, i) => {
      // A variable removed or closed to this login since the listing is skipped, as if not listed.
      if (result instanceof NotFoundError) return;
      if (result instanceof Error) throw result;
      values[ids[i]!] = result.value;
    });
    return { values, sources: Object.keys(values).map((key) => ({ key })) };
  }

  /** The store works when its login succeeds. */
  async validate(ctx: CallContext): Promise<void> {
    this.login.forget();
    await this.login.header(ctx);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** Splits items into runs of at most `most` whose summed size stays within budget. */
function chunks<T>(items: T[], size: (item: T) => number, budget: number, most: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const s = size(item);
    if (current.length > 0 && (used + s > budget || current.length >= most)) {
      out.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += s;
  }
  if (current.length > 0) out.push(current);
  return out;
}
