// The conjur provider against the project's Conjur test server
// (test/servers/conjur, written from CyberArk's REST API reference) and the
// real kube-apiserver for authn-jwt: the shared conformance suite, then the
// operator end to end under the shipped RBAC.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { Resources } from '../../src/kube/types.js';
import { conjurProvider } from '../../src/providers/conjur/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';
import { ConjurAdmin } from '../servers/conjur/admin-client.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, events, getSecret, kube, kubeConfig, newNamespace, providerEnv,
  ready, useNamespaceWithSecret, useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

const SECRET_VALUE = 'conjur-secret-value-4r5t6y';
const env = () => providerEnv();
const account = () => env().CONJUR_ACCOUNT!;
let admin: ConjurAdmin;
beforeAll(() => {
  admin = new ConjurAdmin(env().CONJUR_APPLIANCE_URL!, readFileSync(env().CONJUR_TEST_ADMIN_KEY_FILE!, 'utf8').trim(), env().TEST_CA_FILE!);
});
afterAll(() => admin.close());

const ca = () => readFileSync(env().TEST_CA_FILE!, 'utf8');

function apiKeyStore(credentials = 'conjur-creds'): SecretStoreSpec {
  return {
    provider: {
      conjur: {
        url: env().CONJUR_APPLIANCE_URL!,
        caBundle: ca(),
        auth: { apikey: { account: account(), userRef: { name: credentials, key: 'login' }, apiKeyRef: { name: credentials, key: 'apiKey' } } },
      },
    },
  };
}

/** A host with an API key, kept in a Secret of the namespace. */
async function hostWithKey(ns: string, login: string, secret = 'conjur-creds'): Promise<string> {
  const apiKey = await admin.addRole(login);
  await createCredentialSecret(ns, secret, { login, apiKey });
  return login;
}

describe('conjur conformance', () => {
  const ns = useNamespaceWithSecret('conjur-conf', 'placeholder', () => ({ unused: 'x' }));
  const reader = `host/conf/reader-${randomBytes(3).toString('hex')}`;
  const denied = `host/conf/denied-${randomBytes(3).toString('hex')}`;
  let ready = false;
  const clientFor = async (login: string) => {
    if (!ready) {
      await hostWithKey(ns(), reader, 'reader');
      await hostWithKey(ns(), denied, 'denied');
      ready = true;
    }
    const store = { metadata: { name: 'c', namespace: ns() }, spec: apiKeyStore(login === reader ? 'reader' : 'denied') } as SecretStore;
    return conjurProvider.newClient({ store, namespace: ns(), kube: kube() });
  };

  providerConformance({
    name: 'conjur (test Conjur over its REST API)',
    async put(key, value, opts) {
      if (!ready) await clientFor(reader);
      // The reader may fetch every variable; the denied host only sees them (read, no execute: 403).
      return String(await admin.addVariable({ id: key, values: [value], annotations: opts?.tags, permissions: { [reader]: 'execute', [denied]: 'read' } }));
    },
    client: () => clientFor(reader),
    deniedClient: () => clientFor(denied),
    serverRequests: async () => (await admin.stats()).requests,
    // One batch request; a batch Conjur refuses (a missing variable) is read one by one to say which.
    batchCost: (n) => 1 + n,
    supports: {
      versions: { no: 'a read of the current value does not say its version; pinned versions are read (tested through the operator below)' },
      versionChecks: { no: 'a variable read gives no version, and the resource listing costs as much as the value: there is nothing cheaper to check' },
      findByName: true,
      findByPath: true,
      findByTags: true,
      metadata: true,
      expiryDates: { no: 'Conjur OSS variables carry no expiry date in the secrets API' },
      rotationDates: { no: 'Conjur OSS has no rotation schedule for variables' },
      permissions: true,
      throttling: { no: 'Conjur OSS does not rate-limit its API' },
      writes: { no: 'Conjur variables are declared by policy loads, not by a client: secretsync only reads Conjur' },
    },
  });
});

describe("CyberArk's own client (the conjur 7.1.0 CLI and Python SDK) agrees with the test server", () => {
  const cli = join(process.env.HOME ?? '', '.cache/secretsync/conjur-cli-7.1.0/venv/bin/conjur');
  const home = mkdtempSync(join(tmpdir(), 'conjur-cli-'));
  const conjur = (...args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      // Its own HOME: .conjurrc, the CA copy and .netrc (no keyring here) go there.
      execFile(cli, args, { cwd: home, env: { PATH: process.env.PATH, HOME: home } }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: `${stdout}${stderr}` }));
    });

  it('logs in with an API key, reads a variable, a version, a batch and a listing; refuses a wrong key and a forbidden variable', async () => {
    const tag = randomBytes(3).toString('hex');
    const login = `host/cli/reader-${tag}`;
    const apiKey = await admin.addRole(login);
    await admin.addVariable({ id: `cli-${tag}/password`, values: ['first', SECRET_VALUE], annotations: { team: tag }, permissions: { [login]: 'execute' } });
    await admin.addVariable({ id: `cli-${tag}/user`, values: ['app'], permissions: { [login]: 'execute' } });
    await admin.addVariable({ id: `cli-${tag}/closed`, values: ['never'], permissions: { [login]: 'read' } });
    expect((await conjur('init', '-u', env().CONJUR_APPLIANCE_URL!, '-a', account(), '-c', env().TEST_CA_FILE!, '--force')).code).toBe(0);
    expect((await conjur('login', '-i', login, '-p', 'not-the-key')).out).toContain('401 (Unauthorized)');
    expect((await conjur('login', '-i', login, '-p', apiKey)).out).toContain('Successfully logged in to Conjur');
    expect(JSON.parse((await conjur('whoami')).out)).toMatchObject({ account: account(), username: login });
    expect((await conjur('variable', 'get', '-i', `cli-${tag}/password`)).out.trim()).toBe(SECRET_VALUE);
    expect((await conjur('variable', 'get', '-i', `cli-${tag}/password`, '--version', '1')).out.trim()).toBe('first');
    expect(JSON.parse((await conjur('variable', 'get', '-i', `cli-${tag}/password`, `cli-${tag}/user`)).out)).toEqual({ [`cli-${tag}/password`]: SECRET_VALUE, [`cli-${tag}/user`]: 'app' });
    const listed = JSON.parse((await conjur('list', '-k', 'variable', '-s', `cli-${tag}`, '-i')).out) as Array<{ id: string; annotations: Array<{ name: string; value: string }> }>;
    expect(listed.map((r) => r.id)).toEqual([`${account()}:variable:cli-${tag}/closed`, `${account()}:variable:cli-${tag}/password`, `${account()}:variable:cli-${tag}/user`]);
    expect(listed[1]!.annotations).toEqual([expect.objectContaining({ name: 'team', value: tag })]);
    const limited = JSON.parse((await conjur('list', '-k', 'variable', '-s', `cli-${tag}`, '-l', '1', '-o', '1')).out) as string[];
    expect(limited).toEqual([`${account()}:variable:cli-${tag}/password`]);
    const forbidden = await conjur('variable', 'get', '-i', `cli-${tag}/closed`);
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.out).toContain('403');
    expect(forbidden.out).not.toContain('never');
  });

  it('logs in as a user by the bare id, as Conjur users do (`conjur login -i alice`), and not as user/<id>; whoami names the user', async () => {
    const tag = randomBytes(3).toString('hex');
    const user = `alice-${tag}`;
    const apiKey = await admin.addRole(`user/${user}`);
    await admin.addVariable({ id: `cli-user-${tag}/password`, values: [SECRET_VALUE], permissions: { [`user/${user}`]: 'execute' } });
    expect((await conjur('init', '-u', env().CONJUR_APPLIANCE_URL!, '-a', account(), '-c', env().TEST_CA_FILE!, '--force')).code).toBe(0);
    // A real Conjur reads user/<id> as a user whose id is "user/<id>": there is none.
    expect((await conjur('login', '-i', `user/${user}`, '-p', apiKey)).out).toContain('401 (Unauthorized)');
    expect((await conjur('login', '-i', user, '-p', apiKey)).out).toContain('Successfully logged in to Conjur');
    expect(JSON.parse((await conjur('whoami')).out)).toMatchObject({ account: account(), username: user });
    expect((await conjur('variable', 'get', '-i', `cli-user-${tag}/password`)).out.trim()).toBe(SECRET_VALUE);
  });
});

describe('conjur through the operator (shipped RBAC)', () => {
  useOperator([SECRET_VALUE], { asServiceAccount: true });

  it('API key: values, versions, properties, extract, a many-key ExternalSecret in one batch request, find by name and annotations, binary kept binary', async () => {
    const ns = await newNamespace();
    const host = await hostWithKey(ns, `host/apps/${ns}`);
    const db = `apps/${ns}/db`;
    const grant = { [host]: 'execute' as const };
    await admin.addVariable({ id: db, values: [JSON.stringify({ user: 'app', password: 'old' }), JSON.stringify({ user: 'app', password: SECRET_VALUE })], permissions: grant });
    const many = Array.from({ length: 12 }, (_, i) => `apps/${ns}/k${i}`);
    for (const [i, id] of many.entries()) await admin.addVariable({ id, values: [`v${i}`], permissions: grant });
    const binary = randomBytes(64);
    await admin.addVariable({ id: `apps/${ns}/cert.der`, values: [binary], permissions: grant });
    for (const [n, team] of [['feat-a', ns], ['feat-b', ns], ['other', 'someone-else']]) {
      await admin.addVariable({ id: `apps/${ns}/${n}`, values: [n!.toUpperCase()], annotations: { team: team! }, permissions: grant });
    }
    await createStore(ns, 'conjur', apiKeyStore());
    await waitForStoreReady(ns, 'conjur');
    const before = (await admin.stats()).byOperation;
    await createExternalSecret(ns, 'many', { secretStoreRef: { name: 'conjur' }, data: many.map((key, i) => ({ secretKey: `k${i}`, remoteRef: { key } })) });
    await waitForReady(ns, 'many');
    const after = (await admin.stats()).byOperation;
    // Twelve variables, one request (the store's login is already cached).
    expect((after.batch ?? 0) - (before.batch ?? 0)).toBe(1);
    expect((after.secret ?? 0) - (before.secret ?? 0)).toBe(0);
    expect(decoded(await getSecret(ns, 'many'))).toEqual(Object.fromEntries(many.map((_, i) => [`k${i}`, `v${i}`])));

    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'conjur' },
      data: [
        { secretKey: 'password', remoteRef: { key: db, property: 'password' } },
        { secretKey: 'old', remoteRef: { key: db, property: 'password', version: '1' } },
        { secretKey: 'cert.der', remoteRef: { key: `apps/${ns}/cert.der` } },
      ],
      dataFrom: [
        { extract: { key: db }, rewrite: [{ regexp: { source: '^', target: 'x_' } }] },
        // Found names become keys with / as _ (apps_<ns>_feat-a), then the rewrite applies.
        { find: { path: `apps/${ns}`, name: { regexp: '/feat-' }, tags: { team: ns } }, rewrite: [{ regexp: { source: '^apps_.*_(feat-.)$', target: '$1' } }] },
      ],
    });
    const es = await waitForReady(ns, 'es');
    const secret = await getSecret(ns, 'es');
    expect(Buffer.from(secret!.data!['cert.der']!, 'base64').equals(binary)).toBe(true);
    const { ['cert.der']: _, ...text } = decoded(secret);
    expect(text).toEqual({ password: SECRET_VALUE, old: 'old', x_user: 'app', x_password: SECRET_VALUE, 'feat-a': 'FEAT-A', 'feat-b': 'FEAT-B' });
    expect(JSON.stringify(es.status)).not.toContain(SECRET_VALUE);
  });

  it('API key of a user (userRef holds the bare user id, not host/...): the store logs in and the ExternalSecret syncs; user/<id> is refused', async () => {
    const ns = await newNamespace();
    const user = `bob-${ns}`;
    const apiKey = await admin.addRole(`user/${user}`);
    await createCredentialSecret(ns, 'conjur-creds', { login: user, apiKey });
    await createCredentialSecret(ns, 'wrong-login', { login: `user/${user}`, apiKey });
    const id = `users/${ns}/token`;
    await admin.addVariable({ id, values: [SECRET_VALUE], permissions: { [`user/${user}`]: 'execute' } });
    await createStore(ns, 'user', apiKeyStore());
    await createStore(ns, 'wrong', apiKeyStore('wrong-login'));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'user' }, data: [{ secretKey: 'v', remoteRef: { key: id } }] });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);
    await waitFor('the store logging in as user/<id> is refused', async () => {
      const store = await kube().get<SecretStore>(Resources.SecretStore, ns, 'wrong');
      return ready(store)?.status === 'False' && /refused the login/.test(ready(store)?.message ?? '');
    });
  });

  it('authn-jwt: a ServiceAccount token from TokenRequest, checked against the API server keys, as a named host or by claim; a JWT from a Secret', async () => {
    const ns = await newNamespace();
    const issuer = kubeConfig().getCurrentCluster()!.server;
    const service = `k8s-${ns}`;
    await admin.addJwtService({ id: service, issuer, audience: 'conjur' });
    await admin.addJwtService({ id: `${service}-claim`, issuer, audience: 'conjur', tokenAppProperty: 'sub', identityPath: 'k8s-apps' });
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } });
    const named = `host/jwt/${ns}`;
    const byClaim = `host/k8s-apps/system:serviceaccount:${ns}:app`;
    await admin.addRole(named, { [`authn-jwt/${service}/kubernetes.io/namespace`]: ns, [`authn-jwt/${service}/kubernetes.io/serviceaccount/name`]: 'app' });
    await admin.addRole(byClaim);
    const id = `jwt/${ns}/token`;
    await admin.addVariable({ id, values: [SECRET_VALUE], permissions: { [named]: 'execute', [byClaim]: 'execute' } });
    const jwtStore = (jwt: Record<string, unknown>): SecretStoreSpec => ({ provider: { conjur: { url: env().CONJUR_APPLIANCE_URL!, caBundle: ca(), auth: { jwt: { account: account(), serviceID: service, ...jwt } } } } });
    await createStore(ns, 'named', jwtStore({ hostId: `jwt/${ns}`, serviceAccountRef: { name: 'app' } }));
    await createStore(ns, 'by-claim', jwtStore({ serviceID: `${service}-claim`, serviceAccountRef: { name: 'app' } }));
    // A token the host's annotations do not match: another ServiceAccount.
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'intruder', namespace: ns } });
    await createStore(ns, 'wrong-account', jwtStore({ hostId: `jwt/${ns}`, serviceAccountRef: { name: 'intruder' } }));
    const stored = await kube().createToken(ns, 'app', ['conjur'], 3600);
    await createCredentialSecret(ns, 'jwt', { token: stored.token });
    await createStore(ns, 'from-secret', jwtStore({ hostId: `jwt/${ns}`, secretRef: { name: 'jwt', key: 'token' } }));
    for (const store of ['named', 'by-claim', 'from-secret']) {
      await createExternalSecret(ns, store, { secretStoreRef: { name: store }, data: [{ secretKey: 'v', remoteRef: { key: id } }] });
      await waitForReady(ns, store);
      expect(decoded(await getSecret(ns, store)).v).toBe(SECRET_VALUE);
    }
    const refused = await waitFor('the store refused', async () => {
      const s = await kube().get<SecretStore>(Resources.SecretStore, ns, 'wrong-account');
      return ready(s)?.status === 'False' ? s : undefined;
    });
    expect(ready(refused)?.message).toContain(`Conjur refused the login of authn-jwt/${service} as host/jwt/${ns}`);
    expect(JSON.stringify(refused.status)).not.toMatch(/eyJ[\w-]+\.eyJ/); // no token in status
  });

  it('a variable the host may not fetch: Ready=False with PermissionDenied, the Secret untouched, nothing secret in status or Events', async () => {
    const ns = await newNamespace();
    const host = await hostWithKey(ns, `host/apps/${ns}`);
    const open = `apps/${ns}/open`;
    const closed = `apps/${ns}/closed`;
    await admin.addVariable({ id: open, values: [SECRET_VALUE], permissions: { [host]: 'execute' } });
    await admin.addVariable({ id: closed, values: ['never-readable'], permissions: { [host]: 'read' } });
    await createStore(ns, 'conjur', apiKeyStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'conjur' }, data: [{ secretKey: 'v', remoteRef: { key: open } }] });
    await waitForReady(ns, 'es');
    const synced = await getSecret(ns, 'es');
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { data: [{ secretKey: 'v', remoteRef: { key: open } }, { secretKey: 'w', remoteRef: { key: closed } }] } });
    const failed = await waitForReady(ns, 'es', 'False', 'PermissionDenied');
    expect(ready(failed)?.message).toContain('Conjur refused');
    expect((await getSecret(ns, 'es'))!.data).toEqual(synced!.data);
    const seen = JSON.stringify([failed.status, await events(ns, 'es')]);
    expect(seen).not.toContain(SECRET_VALUE);
    expect(seen).not.toContain('never-readable');
  });

  it('access tokens are renewed as they near expiry, and a token Conjur refuses (401) is replaced at once; syncing goes on', async () => {
    const ns = await newNamespace();
    const host = await hostWithKey(ns, `host/apps/${ns}`);
    const id = `apps/${ns}/rotating`;
    await admin.addVariable({ id, values: ['first'], permissions: { [host]: 'execute' } });
    const count = async (op: string) => (await admin.stats()).byOperation[op] ?? 0;
    await admin.tokenTtl(3);
    try {
      await createStore(ns, 'conjur', apiKeyStore());
      await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'conjur' }, refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key: id } }] });
      const since = ready(await waitForReady(ns, 'es'))!.lastTransitionTime;
      // Refreshes every second outlive 3-second tokens: new logins follow, renewed before expiry.
      const first = await count('authenticate');
      await waitFor('renewed logins', async () => (await count('authenticate')) >= first + 2, 15_000);
      // From here tokens last 8 minutes: once one is in use, only a 401 can make the client log in again.
      await admin.tokenTtl(8 * 60);
      const longLived = await count('authenticate');
      await waitFor('a long-lived token', async () => (await count('authenticate')) > longLived, 15_000);
      const beforeRevoke = { logins: await count('authenticate'), refused: await count('refused-token') };
      await admin.revokeTokens();
      await admin.addVariable({ id, values: ['second'] });
      await waitFor('the new value', async () => decoded(await getSecret(ns, 'es')).v === 'second', 15_000);
      // The refused token was replaced by a login, and the read repeated: Ready never left True.
      expect(await count('refused-token')).toBeGreaterThan(beforeRevoke.refused);
      expect(await count('authenticate')).toBeGreaterThan(beforeRevoke.logins);
      const es = await waitForReady(ns, 'es');
      expect(ready(es)).toMatchObject({ reason: 'SecretSynced', lastTransitionTime: since });
    } finally {
      await admin.tokenTtl(8 * 60);
    }
  });
});
