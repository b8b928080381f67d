// The host guard at connect time, for every provider transport and every
// generator endpoint, against the real servers (OpenBao, moto, and the Azure,
// Google, Conjur and webhook test servers). The store's endpoint is `localhost:port`;
// the test's resolver (test/support/rebinding-name.ts) first answers
// 127.0.0.1, which forwards to the real server, and then 127.0.0.2, which the
// policy denies: DNS rebinding. The first call works; after the rebind the
// client must connect again, and that connection is refused with
// HostNotAllowed without a single connection reaching 127.0.0.2. Then the
// operator end to end: an ExternalSecret whose store's name rebinds turns
// Ready=False HostNotAllowed and its Secret stays as it was.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import NodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reason } from '../../src/api/reasons.js';
import type { Generator, SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { runGenerator } from '../../src/generators/generators.js';
import { awsProvider } from '../../src/providers/aws/provider.js';
import { azurekvProvider } from '../../src/providers/azurekv/provider.js';
import { ConnectGuard } from '../../src/providers/connect-guard.js';
import { conjurProvider } from '../../src/providers/conjur/provider.js';
import { providerFailure } from '../../src/providers/errors.js';
import { gcpsmProvider } from '../../src/providers/gcpsm/provider.js';
import { parseHostPolicy } from '../../src/providers/host-policy.js';
import type { Provider } from '../../src/providers/provider.js';
import { vaultProvider } from '../../src/providers/vault/provider.js';
import { webhookProvider } from '../../src/providers/webhook/provider.js';
import { createLogger } from '../../src/runtime/log.js';
import { errorMessage } from '../../src/util/errors.js';
import { azureTestEnv, servicePrincipal, type AzureTestEnv } from '../support/azure.js';
import { callContext } from '../support/call-context.js';
import { gcpTestEnv, putSecret, serviceAccountKey, type GcpTestEnv } from '../support/gcp.js';
import { rebindingName, type RebindingName } from '../support/rebinding-name.js';
import { webhookSecret, webhookStore, webhookTestEnv } from '../support/webhook.js';
import { ConjurAdmin } from '../servers/conjur/admin-client.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, getSecret, kube, newNamespace, providerEnv, ready, startOperator, stateDir,
  waitForReady,
} from './harness.js';

const env = () => providerEnv();
const policy = parseHostPolicy('127.0.0.2/32,link-local,metadata');
const VALUE = 'connect-guard-value-5t6y';
const run = Date.now().toString(36);
const hostPort = (url: string) => {
  const u = new URL(url.includes('://') ? url : `https://${url}`);
  return { host: u.hostname, port: Number(u.port) };
};

let azure: AzureTestEnv;
let gcp: GcpTestEnv;
let conjur: ConjurAdmin;
const names: RebindingName[] = [];
beforeAll(async () => {
  azure = await azureTestEnv(env());
  gcp = await gcpTestEnv(env());
  conjur = new ConjurAdmin(env().CONJUR_APPLIANCE_URL!, readFileSync(env().CONJUR_TEST_ADMIN_KEY_FILE!, 'utf8').trim(), env().TEST_CA_FILE!);
  await NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN }).write(`secret/data/guard-${run}`, { data: { value: VALUE } });
});
afterAll(async () => {
  for (const n of names) await n.close();
  await azure.admin.close();
  await gcp.admin.close();
  await gcp.sm.close();
  await conjur.close();
});

/** A rebinding `localhost` in front of the server at `url`, and a guard that resolves through it. */
async function rebinding(url: string): Promise<{ name: RebindingName; guard: ConnectGuard; at: string }> {
  const { host, port } = hostPort(url);
  const name = await rebindingName(host, port);
  names.push(name);
  return { name, guard: new ConnectGuard(policy, 'namespaced SecretStores', (h) => name.resolve(h)), at: `localhost:${name.port}` };
}

/** The call works through 127.0.0.1; after the rebind it is refused with HostNotAllowed, and 127.0.0.2 sees no connection. */
async function refusedAfterRebind(name: RebindingName, call: () => Promise<unknown>): Promise<void> {
  await call();
  expect(name.lookups).toContain('localhost');
  name.rebind();
  // A pooled connection the rebind dropped can fail one call first (a reset), before the client connects again.
  let err: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    err = await call().then(() => undefined, (e: unknown) => e);
    expect(err, 'the call after the rebind should fail').toBeInstanceOf(Error);
    if (providerFailure(err).reason === Reason.HostNotAllowed) break;
    expect(errorMessage(err)).toMatch(/ECONNRESET|socket hang up|other side closed|Connection dropped|No connection established/);
  }
  expect(providerFailure(err).reason, errorMessage(err)).toBe(Reason.HostNotAllowed);
  expect(errorMessage(err)).toContain(`localhost now resolves to 127.0.0.2, in the 127.0.0.2/32 range, which`);
  expect(name.deniedConnections).toBe(0);
}

async function storeClient(provider: Provider, spec: SecretStoreSpec, ns: string, guard: ConnectGuard) {
  const store = { metadata: { name: 'rebinding', namespace: ns }, spec } as SecretStore;
  return provider.newClient({ store, namespace: ns, kube: kube(), connectGuard: guard });
}

describe('the host guard at connect time: every provider transport', () => {
  it('vault (undici): the second connection is refused', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'token', { token: env().VAULT_TOKEN! });
    const { name, guard, at } = await rebinding(env().VAULT_ADDR!);
    const client = await storeClient(vaultProvider, { provider: { vault: { server: `http://${at}`, auth: { tokenSecretRef: { name: 'token', key: 'token' } } } } }, ns, guard);
    await refusedAfterRebind(name, () => client.getSecret({ key: `guard-${run}`, property: 'value' }, callContext()));
    await client.close();
  });

  it('aws (the SDK\'s Node HTTP handler): the second connection is refused', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'aws', { id: 'testing', secret: 'testing' });
    const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint: env().AWS_ENDPOINT_URL, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await sm.send(new CreateSecretCommand({ Name: `guard-${run}`, SecretString: VALUE }));
    const { name, guard, at } = await rebinding(env().AWS_ENDPOINT_URL!);
    const auth = { secretRef: { accessKeyIDSecretRef: { name: 'aws', key: 'id' }, secretAccessKeySecretRef: { name: 'aws', key: 'secret' } } };
    const client = await storeClient(awsProvider, { provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: `http://${at}`, auth } } }, ns, guard);
    await refusedAfterRebind(name, () => client.getSecret({ key: `guard-${run}` }, callContext()));
    await client.close();
  });

  it('azurekv (the Azure pipeline): the second connection is refused', async () => {
    const ns = await newNamespace();
    const sp = await servicePrincipal(azure);
    await createCredentialSecret(ns, 'azure', { clientId: sp.clientId, clientSecret: sp.secret });
    await azure.secrets.setSecret(`guard-${run}`, VALUE);
    const { name, guard, at } = await rebinding(azure.vaultUrl);
    const authSecretRef = { clientId: { name: 'azure', key: 'clientId' }, clientSecret: { name: 'azure', key: 'clientSecret' } };
    const client = await storeClient(azurekvProvider, { provider: { azurekv: { vaultUrl: `https://${at}`, tenantId: azure.tenantId, authType: 'ServicePrincipal', authSecretRef } } }, ns, guard);
    await refusedAfterRebind(name, () => client.getSecret({ key: `guard-${run}` }, callContext()));
    await client.close();
  });

  it('gcpsm (gRPC, through our resolver): the re-resolution is refused', async () => {
    const ns = await newNamespace();
    const key = await serviceAccountKey(gcp.admin, 'guard', ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']);
    await createCredentialSecret(ns, 'gcp', { 'key.json': key.json });
    await putSecret(gcp, `guard-${run}`, VALUE);
    const { name, guard, at } = await rebinding(gcp.endpoint);
    const client = await storeClient(gcpsmProvider, { provider: { gcpsm: { projectID: gcp.project, endpoint: at, auth: { secretRef: { secretAccessKeySecretRef: { name: 'gcp', key: 'key.json' } } } } } }, ns, guard);
    await refusedAfterRebind(name, () => client.getSecret({ key: `guard-${run}` }, callContext({ timeoutMs: 10_000 })));
    await client.close();
  });

  it('gcpsm (REST, --gcpsm-transport rest: undici): the second connection is refused', async () => {
    const ns = await newNamespace();
    const key = await serviceAccountKey(gcp.admin, 'guard-rest', ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']);
    await createCredentialSecret(ns, 'gcp', { 'key.json': key.json });
    await putSecret(gcp, `guard-rest-${run}`, VALUE);
    const { name, guard, at } = await rebinding(gcp.restEndpoint);
    const store = { metadata: { name: 'rebinding', namespace: ns }, spec: { provider: { gcpsm: { projectID: gcp.project, endpoint: at, auth: { secretRef: { secretAccessKeySecretRef: { name: 'gcp', key: 'key.json' } } } } } } } as SecretStore;
    const client = await gcpsmProvider.newClient({ store, namespace: ns, kube: kube(), connectGuard: guard, options: { gcpsmTransport: 'rest' } });
    await refusedAfterRebind(name, () => client.getSecret({ key: `guard-rest-${run}` }, callContext({ timeoutMs: 10_000 })));
    await client.close();
  });

  it('conjur (undici): the second connection is refused', async () => {
    const ns = await newNamespace();
    const login = `host/guard/${run}`;
    const apiKey = await conjur.addRole(login);
    await conjur.addVariable({ id: `guard/${run}`, values: [VALUE], permissions: { [login]: 'execute' } });
    await createCredentialSecret(ns, 'conjur', { login, apiKey });
    const { name, guard, at } = await rebinding(env().CONJUR_APPLIANCE_URL!);
    const spec: SecretStoreSpec = {
      provider: {
        conjur: {
          url: `https://${at}`, caBundle: readFileSync(env().TEST_CA_FILE!, 'utf8'),
          auth: { apikey: { account: env().CONJUR_ACCOUNT!, userRef: { name: 'conjur', key: 'login' }, apiKeyRef: { name: 'conjur', key: 'apiKey' } } },
        },
      },
    };
    const client = await storeClient(conjurProvider, spec, ns, guard);
    await refusedAfterRebind(name, () => client.getSecret({ key: `guard/${run}` }, callContext()));
    await client.close();
  });
  it('webhook (undici): the second connection is refused', async () => {
    const ns = await newNamespace();
    const hook = webhookTestEnv(env());
    const token = `guard-${run}`;
    await hook.admin.token(token);
    await hook.admin.put(`guard-${run}`, VALUE);
    await webhookSecret(kube(), ns, 'webhook-auth', { token });
    const { name, guard, at } = await rebinding(hook.url);
    const client = await storeClient(webhookProvider, webhookStore(hook, { url: `https://${at}/api/v1/secrets/{{ remoteRef.key }}` }), ns, guard);
    await refusedAfterRebind(name, () => client.getSecret({ key: `guard-${run}` }, callContext()));
    await client.close();
    await hook.admin.close();
  });
});

describe('the host guard at connect time: every generator endpoint', () => {
  const generate = (ns: string, guard: ConnectGuard, generator: Omit<Generator, 'metadata'>) => () =>
    runGenerator({ ...generator, metadata: { name: 'g', namespace: ns } }, { namespace: ns, kube: kube(), signal: AbortSignal.timeout(20_000), log: createLogger('silent'), connectGuard: guard });

  it('VaultDynamicSecret (undici)', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'token', { token: env().VAULT_TOKEN! });
    const { name, guard, at } = await rebinding(env().VAULT_ADDR!);
    await refusedAfterRebind(name, generate(ns, guard, {
      kind: 'VaultDynamicSecret',
      spec: { provider: { server: `http://${at}`, auth: { tokenSecretRef: { name: 'token', key: 'token' } } }, path: `secret/data/guard-${run}` },
    }));
  });

  it('ECRAuthorizationToken (the AWS SDK)', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'aws', { id: 'testing', secret: 'testing' });
    const { name, guard, at } = await rebinding(env().AWS_ENDPOINT_URL!);
    await refusedAfterRebind(name, generate(ns, guard, {
      kind: 'ECRAuthorizationToken',
      spec: { region: 'us-east-1', endpoint: `http://${at}`, auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws', key: 'id' }, secretAccessKeySecretRef: { name: 'aws', key: 'secret' } } } },
    }));
  });

  it('ACRAccessToken (undici, at the registry)', async () => {
    const ns = await newNamespace();
    const sp = await servicePrincipal(azure);
    await azure.admin.assignRegistryRoles(sp.clientId, ['AcrPull']);
    await createCredentialSecret(ns, 'azure', { clientId: sp.clientId, clientSecret: sp.secret });
    const { name, guard, at } = await rebinding(azure.vaultUrl);
    await refusedAfterRebind(name, generate(ns, guard, {
      kind: 'ACRAccessToken',
      spec: {
        registry: at, tenantId: azure.tenantId, caBundle: readFileSync(env().TEST_CA_FILE!, 'utf8'),
        auth: { servicePrincipal: { secretRef: { clientId: { name: 'azure', key: 'clientId' }, clientSecret: { name: 'azure', key: 'clientSecret' } } } },
      },
    }));
  });
});

describe('redirects', () => {
  // Every answer is a redirect to the denied address; no transport may follow it there.
  async function redirecting(tls: boolean): Promise<{ url: string; denied: () => number; close: () => Promise<void> }> {
    let denied = 0;
    const trap = createNetServer((socket) => {
      denied++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.2', resolve));
    const target = `${tls ? 'https' : 'http'}://127.0.0.2:${(trap.address() as AddressInfo).port}/`;
    const answer = (_req: unknown, res: ServerResponse) => res.writeHead(307, { location: target }).end();
    const server = tls
      ? createHttpsServer({ cert: readFileSync(join(stateDir(), 'test-tls/server.crt')), key: readFileSync(join(stateDir(), 'test-tls/server.key')) }, answer)
      : createHttpServer(answer);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `${tls ? 'https' : 'http'}://localhost:${(server.address() as AddressInfo).port}`;
    return {
      url,
      denied: () => denied,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await new Promise((resolve) => trap.close(resolve));
      },
    };
  }

  it('no provider follows a redirect to a denied address (vault, aws, conjur: never; azurekv: the pipeline\'s redirects are turned off)', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'creds', { token: 't', id: 'testing', secret: 'testing', login: 'host/x', apiKey: 'k', clientId: 'c', clientSecret: 's' });
    const guard = new ConnectGuard(policy, 'namespaced SecretStores', () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]));
    const cases: Array<[string, Provider, boolean, (url: string) => SecretStoreSpec]> = [
      ['vault', vaultProvider, false, (url) => ({ provider: { vault: { server: url, auth: { tokenSecretRef: { name: 'creds', key: 'token' } } } } })],
      ['aws', awsProvider, false, (url) => ({ provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: url, auth: { secretRef: { accessKeyIDSecretRef: { name: 'creds', key: 'id' }, secretAccessKeySecretRef: { name: 'creds', key: 'secret' } } } } } })],
      ['conjur', conjurProvider, true, (url) => ({ provider: { conjur: { url, auth: { apikey: { account: 'a', userRef: { name: 'creds', key: 'login' }, apiKeyRef: { name: 'creds', key: 'apiKey' } } } } } })],
      ['azurekv', azurekvProvider, true, (url) => ({ provider: { azurekv: { vaultUrl: url, tenantId: azure.tenantId, authType: 'ServicePrincipal', authSecretRef: { clientId: { name: 'creds', key: 'clientId' }, clientSecret: { name: 'creds', key: 'clientSecret' } } } } })],
    ];
    for (const [provider, impl, tls, spec] of cases) {
      const server = await redirecting(tls);
      try {
        const client = await storeClient(impl, spec(server.url), ns, guard);
        const err = await client.getSecret({ key: 'k' }, callContext({ timeoutMs: 10_000 })).then(() => undefined, (e: unknown) => e);
        expect(err, `${provider} followed the redirect`).toBeInstanceOf(Error);
        expect(server.denied(), `${provider} connected to the redirect's address`).toBe(0);
        await client.close();
      } finally {
        await server.close();
      }
    }
  });
});

describe('the host guard at connect time, end to end', () => {
  it('an ExternalSecret whose store\'s name rebinds to a denied address turns Ready=False HostNotAllowed, and its Secret stays as it was', async () => {
    const { name, at } = await rebinding(env().VAULT_ADDR!);
    const op = await startOperator({ storeHostPolicy: policy, storeHostResolve: (h) => name.resolve(h) });
    try {
      const ns = await newNamespace();
      await createCredentialSecret(ns, 'token', { token: env().VAULT_TOKEN! });
      await createStore(ns, 'vault', { provider: { vault: { server: `http://${at}`, auth: { tokenSecretRef: { name: 'token', key: 'token' } } } } });
      await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key: `guard-${run}`, property: 'value' } }] });
      await waitForReady(ns, 'es');
      name.rebind();
      const refused = await waitForReady(ns, 'es', 'False', Reason.HostNotAllowed, 30_000);
      expect(ready(refused)?.message).toContain('localhost now resolves to 127.0.0.2, in the 127.0.0.2/32 range, which namespaced SecretStores may not use');
      expect(decoded(await getSecret(ns, 'es')).v).toBe(VALUE);
      expect(name.deniedConnections).toBe(0);
    } finally {
      await op.stop();
    }
  }, 60_000);
});
