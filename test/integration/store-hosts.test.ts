// The SSRF guard end to end: with 127.0.0.2 denied (standing in for a
// metadata service; tests never send traffic off loopback), a namespaced
// SecretStore aimed at a listener there is refused with a clear reason and
// the listener sees no connection, while an admin's ClusterSecretStore with
// the same address is exempt and does connect.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSecretStore, SecretStore } from '../../src/api/types.js';
import { API_VERSION, Resources } from '../../src/kube/types.js';
import { parseHostPolicy } from '../../src/providers/host-policy.js';
import { createCredentialSecret, createStore, kube, newNamespace, ready, startOperator, waitFor, type TestOperator } from './harness.js';

let op: TestOperator;
let port = 0;
const connections: Socket[] = [];
const listener = createServer((s) => connections.push(s));

beforeAll(async () => {
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.2', resolve));
  port = (listener.address() as AddressInfo).port;
  op = await startOperator({ storeHostPolicy: parseHostPolicy('127.0.0.2/32,link-local,metadata') });
});
afterAll(async () => {
  await op.stop();
  for (const s of connections) s.destroy();
  listener.close();
});

const vault = (ns?: string) => ({ vault: { server: `http://127.0.0.2:${port}`, auth: { tokenSecretRef: { name: 'token', key: 'token', ...(ns ? { namespace: ns } : {}) } } } });

describe('provider hosts namespaced stores may use', () => {
  it('a SecretStore aimed at a denied address is refused before any connection; a ClusterSecretStore is exempt', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'token', { token: 'x' });
    await createStore(ns, 'ssrf', { provider: vault() });
    const refused = await waitFor('the store refused', async () => {
      const c = ready(await kube().get<SecretStore>(Resources.SecretStore, ns, 'ssrf'));
      return c?.status === 'False' ? c : undefined;
    });
    expect(refused.message).toContain(`spec.provider.vault.server points at 127.0.0.2, in the 127.0.0.2/32 range, which namespaced SecretStores may not use`);
    expect(connections).toHaveLength(0);

    const name = `admin-${ns}`;
    await kube().create<ClusterSecretStore>(Resources.ClusterSecretStore, { apiVersion: API_VERSION, kind: 'ClusterSecretStore', metadata: { name }, spec: { provider: vault(ns) } });
    try {
      await waitFor('the ClusterSecretStore reaches the address', () => connections.length > 0, 20_000);
    } finally {
      await kube().delete(Resources.ClusterSecretStore, undefined, name);
    }
  });
});
