// The `fake` provider: static data in the store spec. For demos and
// benchmarks; it behaves like a real provider (versions, JSON properties,
// expiry dates, typed not-found) without a network. Each call counts as one
// request. Controller tests that need errors, hangs or leases use the
// programmable provider in test/support instead.
import type { AnyStore, FindRef, RemoteRef } from '../../api/types.js';
import { NotFoundError, StoreConfigError } from '../errors.js';
import { underPath } from '../find.js';
import { extractProperty, valueToMap } from '../property.js';
import { compileLinear } from '../../util/linear-regexp.js';
import type { CallContext, Provider, ProviderClient, RemoteValue, RemoteValues, SourceInfo } from '../provider.js';

/** One request's worth of budget, then fn. */
async function answer<T>(ctx: CallContext, fn: () => T): Promise<T> {
  await ctx.request();
  return fn();
}

type FakeEntry = NonNullable<AnyStore['spec']['provider']['fake']>['data'][number];

class FakeClient implements ProviderClient {
  constructor(private readonly entries: FakeEntry[]) {}

  private find(key: string, version?: string): FakeEntry {
    // The last entry for a key is its current version.
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.key === key && (version === undefined || e.version === version)) return e;
    }
    throw new NotFoundError(key, version !== undefined ? `version "${version}" does not exist` : undefined);
  }

  private source(entry: FakeEntry): SourceInfo {
    return {
      key: entry.key,
      version: entry.version,
      expiresAt: entry.expiresAt ? new Date(entry.expiresAt) : undefined,
    };
  }

  getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    return answer(ctx, () => {
      const entry = this.find(ref.key, ref.version);
      const raw = new TextEncoder().encode(entry.value);
      const value = ref.property ? extractProperty(raw, ref.key, ref.property) : raw;
      return { value, source: this.source(entry) };
    });
  }

  getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    return answer(ctx, () => {
      const entry = this.find(ref.key, ref.version);
      const values = valueToMap(new TextEncoder().encode(entry.value), ref.key, ref.property);
      return { values, sources: [this.source(entry)] };
    });
  }

  findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    return answer(ctx, () => this.findNow(find));
  }

  private findNow(find: FindRef): RemoteValues {
    if (find.tags) throw new StoreConfigError('the fake provider has no tags; find by path or name');
    const pattern = find.name ? compileLinear(find.name.regexp, 'find.name.regexp') : undefined;
    const latest = new Map<string, FakeEntry>();
    for (const e of this.entries) latest.set(e.key, e);
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    for (const [key, entry] of latest) {
      if (!underPath(key, find.path)) continue;
      if (pattern && !pattern.test(key)) continue;
      values[key] = new TextEncoder().encode(entry.value);
      sources.push(this.source(entry));
    }
    return { values, sources };
  }

  validate(ctx: CallContext): Promise<void> {
    return answer(ctx, () => undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const fakeProvider: Provider = {
  name: 'fake',
  capabilities: 'ReadOnly',
  validateStore(store) {
    const data = store.spec.provider.fake?.data ?? [];
    const problems: string[] = [];
    const seen = new Set<string>();
    data.forEach((e, i) => {
      // The schema checks each entry; only the provider can see two entries clash.
      const id = `${e.key}\0${e.version ?? ''}`;
      if (seen.has(id)) problems.push(`fake.data[${i}] repeats key "${e.key}"${e.version ? ` version "${e.version}"` : ''}`);
      seen.add(id);
    });
    return problems;
  },
  newClient({ store }) {
    return Promise.resolve(new FakeClient(store.spec.provider.fake?.data ?? []));
  },
};
