// The shipped bundle (what the image runs) loads every provider's SDK from
// its lazily loaded chunks and syncs through each: bundling can break an SDK
// that reads files or __dirname at load time, which tests running the
// operator from source would not see. One canary value per provider flows
// through it at trace level and must appear in no log line, Event, status
// or metric.
import { describe, expect, it } from 'vitest';
import type { SecretStoreSpec } from '../../src/api/types.js';
import { azureTestEnv, servicePrincipal } from '../support/azure.js';
import { gcpTestEnv, putSecret, serviceAccountKey } from '../support/gcp.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, events, freePort, getES, getSecret, newNamespace, providerEnv, spawnOperator, terminate, waitForReady,
} from './harness.js';

describe('the shipped bundle', () => {
  it('loads the vault, aws, azurekv and gcpsm SDKs, syncs through each, and leaks no canary at trace level', async () => {
    const env = providerEnv();
    const ns = await newNamespace();
    const azure = await azureTestEnv(env);
    const gcp = await gcpTestEnv(env);
    try {
      const canary = (provider: string) => `canary-${provider}-${ns}`;
      await fetch(`${env.VAULT_ADDR}/v1/secret/data/${ns}/bundle`, { method: 'POST', headers: { 'X-Vault-Token': env.VAULT_TOKEN! }, body: JSON.stringify({ data: { v: canary('vault') } }) });
      const { SecretsManagerClient, CreateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
      await new SecretsManagerClient({ region: 'us-east-1', endpoint: env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }).send(new CreateSecretCommand({ Name: `${ns}/bundle`, SecretString: canary('aws') }));
      await azure.secrets.setSecret(`${ns}-bundle`, canary('azurekv'));
      await putSecret(gcp, `${ns}-bundle`, canary('gcpsm'));
      const sp = await servicePrincipal(azure);
      const key = await serviceAccountKey(gcp.admin, 'bundle', ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']);
      await createCredentialSecret(ns, 'creds', { vault: env.VAULT_TOKEN!, awsId: 'testing', awsSecret: 'testing', azureId: sp.clientId, azureSecret: sp.secret, 'gcp.json': key.json });

      const stores: Record<string, [SecretStoreSpec, string]> = {
        vault: [{ provider: { vault: { server: env.VAULT_ADDR!, auth: { tokenSecretRef: { name: 'creds', key: 'vault' } } } } }, `${ns}/bundle`],
        aws: [{ provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: env.AWS_ENDPOINT_URL, auth: { secretRef: { accessKeyIDSecretRef: { name: 'creds', key: 'awsId' }, secretAccessKeySecretRef: { name: 'creds', key: 'awsSecret' } } } } } }, `${ns}/bundle`],
        azurekv: [{ provider: { azurekv: { vaultUrl: azure.vaultUrl, tenantId: azure.tenantId, authSecretRef: { clientId: { name: 'creds', key: 'azureId' }, clientSecret: { name: 'creds', key: 'azureSecret' } } } } }, `${ns}-bundle`],
        gcpsm: [{ provider: { gcpsm: { projectID: gcp.project, endpoint: gcp.endpoint, auth: { secretRef: { secretAccessKeySecretRef: { name: 'creds', key: 'gcp.json' } } } } } }, `${ns}-bundle`],
      };
      for (const [name, [spec, key]] of Object.entries(stores)) {
        await createStore(ns, name, spec);
        await createExternalSecret(ns, name, { secretStoreRef: { name }, data: [{ secretKey: 'v', remoteRef: name === 'vault' ? { key, property: 'v' } : { key } }] });
      }
      // The operator process gets this process's environment: the Azure authority host, the token
      // service endpoints and the test CA, as an operator in a private cloud would be given them.
      const port = await freePort();
      const op = spawnOperator(['--watch-namespace', ns, '--workers', '4', '--log-level', 'trace', '--metrics-port', String(port), '--metrics-bind-address', '127.0.0.1']);
      for (const name of Object.keys(stores)) await waitForReady(ns, name, 'True', undefined, 30_000);
      expect(Object.fromEntries(await Promise.all(Object.keys(stores).map(async (n) => [n, decoded(await getSecret(ns, n)).v])))).toEqual(
        Object.fromEntries(Object.keys(stores).map((n) => [n, canary(n)])),
      );
      const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect((await terminate(op)).code).toBe(0);
      // Everything the operator said or wrote besides the Secrets themselves.
      const said = [
        op.output.join('\n'),
        metricsText,
        JSON.stringify(await Promise.all(Object.keys(stores).map(async (n) => [(await getES(ns, n)).status, await events(ns, n)]))),
      ].join('\n');
      // The verbose levels were really on.
      expect(op.output.some((l) => l.includes('"level":"debug"'))).toBe(true);
      for (const n of Object.keys(stores)) {
        expect(said).not.toContain(canary(n));
        expect(said).not.toContain(Buffer.from(canary(n)).toString('base64'));
      }
    } finally {
      await azure.admin.close();
      await gcp.admin.close();
      await gcp.sm.close();
    }
  });

  it('with --gcpsm-transport rest, syncs through Secret Manager\'s REST API (the gRPC endpoint is not given)', async () => {
    const env = providerEnv();
    const ns = await newNamespace();
    const gcp = await gcpTestEnv(env);
    try {
      await putSecret(gcp, `${ns}-rest`, `rest-${ns}`);
      const key = await serviceAccountKey(gcp.admin, 'bundle-rest', ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']);
      await createCredentialSecret(ns, 'creds', { 'gcp.json': key.json });
      await createStore(ns, 'gcp', { provider: { gcpsm: { projectID: gcp.project, endpoint: gcp.restEndpoint, auth: { secretRef: { secretAccessKeySecretRef: { name: 'creds', key: 'gcp.json' } } } } } });
      await createExternalSecret(ns, 'gcp', { secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-rest` } }] });
      const op = spawnOperator(['--watch-namespace', ns, '--workers', '2', '--gcpsm-transport', 'rest']);
      await waitForReady(ns, 'gcp', 'True', undefined, 30_000);
      expect(decoded(await getSecret(ns, 'gcp')).v).toBe(`rest-${ns}`);
      expect((await terminate(op)).code).toBe(0);
    } finally {
      await gcp.admin.close();
      await gcp.sm.close();
    }
  });
});
