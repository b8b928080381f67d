// The fake provider passes the shared conformance suite (its "server" is the store spec).
import type { SecretStore } from '../../src/api/types.js';
import { KubeClient } from '../../src/kube/client.js';
import { KubeConfig } from '@kubernetes/client-node';
import { fakeProvider } from '../../src/providers/fake/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';

const entries: Array<{ key: string; value: string; version: string }> = [];
let counter = 0;

providerConformance({
  name: 'fake',
  supportsVersions: true,
  supportsFind: true,
  put(key, value) {
    const version = String(++counter);
    entries.push({ key, value, version });
    return Promise.resolve(version);
  },
  client() {
    const store = { metadata: { name: 'fake', namespace: 'ns' }, spec: { provider: { fake: { data: entries } } } } as SecretStore;
    return fakeProvider.newClient({ store, namespace: 'ns', kube: new KubeClient(new KubeConfig()) });
  },
});
