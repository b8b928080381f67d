// The fake provider passes the shared conformance suite. Its "server" is the
// store spec; requests are counted where its client answers them.
import { KubeConfig } from '@kubernetes/client-node';
import type { SecretStore } from '../../src/api/types.js';
import { KubeClient } from '../../src/kube/client.js';
import { fakeProvider } from '../../src/providers/fake/provider.js';
import type { ProviderClient } from '../../src/providers/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';

const entries: Array<{ key: string; value: string; version: string; expiresAt?: string }> = [];
let counter = 0;
let answered = 0;

/** Counts every method call that reaches the fake's client, as a server would count requests. */
function counting(client: ProviderClient): ProviderClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close' || prop === 'isShareable') return value;
      return (...args: unknown[]) => {
        answered++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

providerConformance({
  name: 'fake',
  put(key, value, opts) {
    const version = String(++counter);
    entries.push({ key, value, version, expiresAt: opts?.expiresAt?.toISOString() });
    return Promise.resolve(version);
  },
  async client() {
    const store = { metadata: { name: 'fake', namespace: 'ns' }, spec: { provider: { fake: { data: entries } } } } as SecretStore;
    return counting(await fakeProvider.newClient({ store, namespace: 'ns', kube: new KubeClient(new KubeConfig()) }));
  },
  serverRequests: () => Promise.resolve(answered),
  batchCost: (n) => n,
  supports: {
    versions: true,
    versionChecks: { no: 'the fake store answers from memory: a read costs nothing a version check would save' },
    findByName: true,
    findByPath: true,
    findByTags: { no: 'the fake store spec has no tags' },
    metadata: { no: 'fake store entries are values only: they carry no tags or metadata' },
    expiryDates: true,
    rotationDates: { no: 'the fake store spec has no rotation schedule' },
    permissions: { no: 'the fake store has no credentials to refuse' },
    throttling: { no: 'the fake store answers from memory and never throttles' },
    writes: { no: 'the fake store holds its values in the store spec itself: there is nothing to write to' },
  },
});
