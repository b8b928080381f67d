// Every provider against a real server that stops answering (a TCP proxy in
// front of OpenBao or moto that goes silent: connections stay open, nothing
// comes back). The shipped operator runs as its own process: the hung call
// ends at the provider deadline with ProviderTimeout, other ExternalSecrets
// keep syncing meanwhile, and SIGTERM stops the process at once even while a
// call is pending.
import { describe, expect, it } from 'vitest';
import { FORCE_SYNC_ANNOTATION } from '../../src/api/names.js';
import type { SecretStoreSpec } from '../../src/api/types.js';
import { Resources } from '../../src/kube/types.js';
import { startFreezableProxy, type FreezableProxy } from '../support/freezable-proxy.js';
import {
  createCredentialSecret, createExternalSecret, createStore, fakeStoreSpec, kube, newNamespace, providerEnv, ready,
  spawnOperator, terminate, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';
import NodeVault from 'node-vault';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const DEADLINE_S = 4;

interface Case {
  name: string;
  target: () => URL;
  /** Writes the remote secret "key" and the store's credentials; returns the store spec through the proxy. */
  prepare(ns: string, proxy: FreezableProxy, key: string): Promise<SecretStoreSpec>;
}

const cases: Case[] = [
  {
    name: 'vault (OpenBao)',
    target: () => new URL(providerEnv().VAULT_ADDR!),
    async prepare(ns, proxy, key) {
      await NodeVault({ endpoint: providerEnv().VAULT_ADDR, token: providerEnv().VAULT_TOKEN }).write(`secret/data/${key}`, { data: { v: 'value' } });
      await createCredentialSecret(ns, 'vault-token', { token: providerEnv().VAULT_TOKEN! });
      return { provider: { vault: { server: `http://127.0.0.1:${proxy.port}`, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } };
    },
  },
  {
    name: 'aws (moto)',
    target: () => new URL(providerEnv().AWS_ENDPOINT_URL!),
    async prepare(ns, proxy, key) {
      const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint: providerEnv().AWS_ENDPOINT_URL, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
      await sm.send(new CreateSecretCommand({ Name: key, SecretString: JSON.stringify({ v: 'value' }) }));
      await createCredentialSecret(ns, 'aws-creds', { id: 'testing', secret: 'testing' });
      return {
        provider: {
          aws: {
            service: 'SecretsManager', region: 'us-east-1', endpoint: `http://127.0.0.1:${proxy.port}`,
            auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } },
          },
        },
      };
    },
  },
];

const forceSync = (ns: string, name: string, value: string) =>
  kube().mergePatch(Resources.ExternalSecret, ns, name, { metadata: { annotations: { [FORCE_SYNC_ANNOTATION]: value } } });

describe('provider deadlines against a server that stops answering', () => {
  it.each(cases)('$name: ProviderTimeout at the deadline, other keys flow, SIGTERM stops the operator at once', async (provider) => {
    const ns = await newNamespace();
    const url = provider.target();
    const proxy = await startFreezableProxy(url.hostname, Number(url.port));
    try {
      const key = `deadline/${ns}`;
      await createStore(ns, 'remote', await provider.prepare(ns, proxy, key));
      await createStore(ns, 'local', fakeStoreSpec([{ key: 'x', value: 'local value' }]));
      const op = spawnOperator(['--watch-namespace', ns, '--workers', '2', '--provider-timeout', `${DEADLINE_S}s`]);
      await waitForStoreReady(ns, 'remote');
      await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'remote' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key, property: 'v' } }] });
      await waitForReady(ns, 'es');

      proxy.freeze();
      const frozenAt = Date.now();
      await forceSync(ns, 'es', 'during-freeze');
      // Three more hung ExternalSecrets than there are workers: only the deadline frees them.
      for (const name of ['h1', 'h2', 'h3']) {
        await createExternalSecret(ns, name, { secretStoreRef: { name: 'remote' }, data: [{ secretKey: 'v', remoteRef: { key, property: 'v' } }] });
      }
      await createExternalSecret(ns, 'other', { secretStoreRef: { name: 'local' }, data: [{ secretKey: 'x', remoteRef: { key: 'x' } }] });
      await waitForReady(ns, 'other', 'True', undefined, 30_000);
      const timedOut = await waitForReady(ns, 'es', 'False', 'ProviderTimeout', 30_000);
      expect(ready(timedOut)?.message).toMatch(new RegExp(`did not answer within ${DEADLINE_S}s|did not answer for`));
      // It waited for the deadline: the silent server refused nothing.
      expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(DEADLINE_S * 1000);

      // A call in flight when SIGTERM comes does not hold the process up.
      const waiting = proxy.waitingSinceFreeze;
      await forceSync(ns, 'es', 'before-sigterm');
      await waitFor('a request waiting on the silent server', () => proxy.waitingSinceFreeze > waiting, 10_000);
      const { code, ms } = await terminate(op);
      expect(code).toBe(0);
      // Well under the 4 s deadline and the 20 s forced exit: the stop aborted the call.
      expect(ms).toBeLessThan(3000);
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
