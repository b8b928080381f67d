// Writes test/corpus/malformed.json: the malformed-input corpus the
// integration test applies to the real API server. Hand-written edge cases
// (each says why it is wrong) plus fast-check mutations of valid manifests
// (a random JSON value put at a random path), seeded so the file is stable.
//   tsx test/corpus/generate.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface Case {
  name: string;
  kind: 'ExternalSecret' | 'SecretStore' | 'ClusterSecretStore';
  spec: Json;
}

const token = { tokenSecretRef: { name: 'token', key: 'token' } };
export const validEs = (): { [k: string]: Json } => ({
  secretStoreRef: { name: 'fake', kind: 'SecretStore' },
  refreshInterval: '1h',
  target: { name: 'out', creationPolicy: 'Owner' },
  data: [{ secretKey: 'password', remoteRef: { key: 'json', property: 'password' } }],
  dataFrom: [{ extract: { key: 'json' }, rewrite: [{ regexp: { source: '^', target: 'x_' } }] }],
});
export const validStore = (): { [k: string]: Json } => ({ provider: { fake: { data: [{ key: 'json', value: '{"password":"p","user":"u"}' }, { key: 'plain', value: 'v' }] } } });

function es(name: string, patch: (s: { [k: string]: Json }) => void): Case {
  const spec = validEs();
  patch(spec);
  return { name, kind: 'ExternalSecret', spec };
}
function store(name: string, spec: Json, kind: Case['kind'] = 'SecretStore'): Case {
  return { name, kind, spec };
}
const data = (remoteRef: Json, secretKey: Json = 'k'): Json => [{ secretKey, remoteRef }];

const handWritten: Case[] = [
  es('no secretStoreRef', (s) => delete s.secretStoreRef),
  es('empty store name', (s) => (s.secretStoreRef = { name: '' })),
  es('store name too long', (s) => (s.secretStoreRef = { name: 'x'.repeat(300) })),
  es('unknown store kind', (s) => (s.secretStoreRef = { name: 'fake', kind: 'Vault' })),
  es('store ref is a string', (s) => (s.secretStoreRef = 'fake')),
  ...['soon', '-1h', '1d', '10', 'h1', '1h-', '1.5.5h', 'x'.repeat(70), ' 1h'].map((v) => es(`refreshInterval "${v.slice(0, 12)}"`, (s) => (s.refreshInterval = v))),
  es('refreshInterval is a number', (s) => (s.refreshInterval = 60)),
  es('unknown refreshPolicy', (s) => (s.refreshPolicy = 'Always')),
  ...['Bad_Name', 'a/b', '../x', '-lead', 'x'.repeat(300), 'UPPER', 'a..b'].map((v) => es(`target name "${v.slice(0, 12)}"`, (s) => (s.target = { name: v }))),
  es('unknown creationPolicy', (s) => (s.target = { creationPolicy: 'Adopt' })),
  es('unknown deletionPolicy', (s) => (s.target = { deletionPolicy: 'Wipe' })),
  es('deletionPolicy Delete without Owner', (s) => (s.target = { creationPolicy: 'Orphan', deletionPolicy: 'Delete' })),
  es('immutable is a string', (s) => (s.target = { immutable: 'yes' })),
  es('immutable with creationPolicy None', (s) => (s.target = { creationPolicy: 'None', immutable: true })),
  es('nothing to fetch', (s) => {
    delete s.data;
    delete s.dataFrom;
  }),
  es('data is an object', (s) => (s.data = { secretKey: 'k' })),
  es('data item without remoteRef', (s) => (s.data = [{ secretKey: 'k' }])),
  es('data item without secretKey', (s) => (s.data = [{ remoteRef: { key: 'json' } }])),
  ...['', 'a/b', '..', '.', 'x'.repeat(300), 'sp ace'].map((v) => es(`secretKey "${v.slice(0, 12)}"`, (s) => (s.data = data({ key: 'json' }, v)))),
  es('empty remote key', (s) => (s.data = data({ key: '' }))),
  es('remote key is a number', (s) => (s.data = data({ key: 7 }))),
  es('unknown decodingStrategy', (s) => (s.data = data({ key: 'plain', decodingStrategy: 'Hex' }))),
  es('property is a list', (s) => (s.data = data({ key: 'json', property: ['a'] }))),
  es('dataFrom with extract and find', (s) => (s.dataFrom = [{ extract: { key: 'json' }, find: { name: { regexp: '.' } } }])),
  es('empty dataFrom entry', (s) => (s.dataFrom = [{}])),
  es('rewrite with regexp and transform', (s) => (s.dataFrom = [{ extract: { key: 'json' }, rewrite: [{ regexp: { source: 'a', target: 'b' }, transform: { template: 'x' } }] }])),
  es('empty rewrite', (s) => (s.dataFrom = [{ extract: { key: 'json' }, rewrite: [{}] }])),
  es('rewrite regexp without target', (s) => (s.dataFrom = [{ extract: { key: 'json' }, rewrite: [{ regexp: { source: 'a' } }] }])),
  es('unknown template engine', (s) => (s.target = { template: { engineVersion: 'v2' } })),
  es('unknown mergePolicy', (s) => (s.target = { template: { mergePolicy: 'Overwrite' } })),
  es('template data is a list', (s) => (s.target = { template: { data: ['x'] } })),
  es('templateFrom configMap without name', (s) => (s.target = { template: { templateFrom: [{ configMap: { items: [{ key: 'a' }] } }] } })),
  es('unknown templateFrom target', (s) => (s.target = { template: { templateFrom: [{ target: 'Spec', literal: 'x' }] } })),
  es('unknown field in spec', (s) => (s.surprise = true)),
  es('unknown field in data item', (s) => (s.data = [{ secretKey: 'k', remoteRef: { key: 'json' }, extra: 1 }])),
  // Accepted by the schema; the operator must report each as Ready=False with a reason.
  es('store does not exist', (s) => (s.secretStoreRef = { name: 'nope' })),
  es('ClusterSecretStore does not exist', (s) => (s.secretStoreRef = { name: 'nope', kind: 'ClusterSecretStore' })),
  es('remote key does not exist', (s) => (s.data = data({ key: 'missing' }))),
  es('property of a non-JSON value', (s) => (s.data = data({ key: 'plain', property: 'p' }))),
  es('missing property', (s) => (s.data = data({ key: 'json', property: 'nope' }))),
  es('extract of a non-JSON value', (s) => (s.dataFrom = [{ extract: { key: 'plain' } }])),
  es('invalid find regexp', (s) => (s.dataFrom = [{ find: { name: { regexp: '(' } } }])),
  es('backreference in find regexp', (s) => (s.dataFrom = [{ find: { name: { regexp: '(a)\\1' } } }])),
  es('invalid rewrite regexp', (s) => (s.dataFrom = [{ extract: { key: 'json' }, rewrite: [{ regexp: { source: '[', target: 'x' } }] }])),
  es('rewrite producing an invalid key', (s) => (s.dataFrom = [{ extract: { key: 'json' }, rewrite: [{ regexp: { source: '^', target: 'a/' } }] }])),
  es('two sources, one key', (s) => (s.data = [{ secretKey: 'user', remoteRef: { key: 'plain' } }])),
  es('template that does not parse', (s) => (s.target = { template: { data: { k: '{{ password ' } } })),
  es('template with an unknown filter', (s) => (s.target = { template: { data: { k: '{{ password | nosuchfilter }}' } } })),
  es('templateFrom a missing ConfigMap', (s) => (s.target = { template: { templateFrom: [{ configMap: { name: 'nope', items: [{ key: 'a' }] } }] } })),
  es('base64 decoding of a non-base64 value', (s) => (s.data = data({ key: 'plain', decodingStrategy: 'Base64' }))),
  es('typed Secret missing its keys', (s) => (s.target = { template: { type: 'kubernetes.io/tls' } })),

  store('no provider', { provider: {} }),
  store('two providers', { provider: { fake: { data: [] }, aws: { service: 'SecretsManager', region: 'eu-west-1' } } }),
  store('provider is a string', { provider: 'vault' }),
  store('vault without auth', { provider: { vault: { server: 'https://v:8200' } } }),
  store('vault with ftp server', { provider: { vault: { server: 'ftp://v', auth: token } } }),
  store('vault KV v3', { provider: { vault: { server: 'https://v:8200', version: 'v3', auth: token } } }),
  store('vault with two auth methods', { provider: { vault: { server: 'https://v:8200', auth: { ...token, appRole: { roleId: 'r', secretRef: { name: 's', key: 'k' } } } } } }),
  store('vault with empty auth', { provider: { vault: { server: 'https://v:8200', auth: {} } } }),
  store('secret ref without key', { provider: { vault: { server: 'https://v:8200', auth: { tokenSecretRef: { name: 'token' } } } } }),
  store('aws unknown service', { provider: { aws: { service: 'ParameterStore', region: 'eu-west-1' } } }),
  store('aws secretRef and jwt', { provider: { aws: { service: 'SecretsManager', region: 'eu-west-1', auth: { secretRef: { accessKeyIDSecretRef: { name: 'a', key: 'b' }, secretAccessKeySecretRef: { name: 'a', key: 'c' } }, jwt: { serviceAccountRef: { name: 'x' } } } } } }),
  store('azurekv over http', { provider: { azurekv: { vaultUrl: 'http://v.vault.azure.net', authType: 'ManagedIdentity' } } }),
  store('azurekv unknown authType', { provider: { azurekv: { vaultUrl: 'https://v.vault.azure.net', authType: 'Password' } } }),
  store('gcpsm bad project', { provider: { gcpsm: { projectID: 'Bad_Project' } } }),
  store('gcpsm key and workload identity', { provider: { gcpsm: { projectID: 'my-project', auth: { secretRef: { secretAccessKeySecretRef: { name: 'a', key: 'b' } }, workloadIdentity: { serviceAccountRef: { name: 'x' }, audience: '//iam.googleapis.com/x' } } } } }),
  store('conjur over http', { provider: { conjur: { url: 'http://conjur.example', auth: { apikey: { account: 'a', userRef: { name: 'c', key: 'l' }, apiKeyRef: { name: 'c', key: 'k' } } } } } }),
  store('conjur apikey and jwt', { provider: { conjur: { url: 'https://conjur.example', auth: { apikey: { account: 'a', userRef: { name: 'c', key: 'l' }, apiKeyRef: { name: 'c', key: 'k' } }, jwt: { account: 'a', serviceID: 's', serviceAccountRef: { name: 'x' } } } } } }),
  store('conjur jwt with a token and a ServiceAccount', { provider: { conjur: { url: 'https://conjur.example', auth: { jwt: { account: 'a', serviceID: 's', serviceAccountRef: { name: 'x' }, secretRef: { name: 'j', key: 'token' } } } } } }),
  store('conjur jwt without serviceID', { provider: { conjur: { url: 'https://conjur.example', auth: { jwt: { account: 'a', serviceAccountRef: { name: 'x' } } } } } }),
  store('fake data not a list', { provider: { fake: { data: { key: 'a' } } } }),
  store('fake entry without key', { provider: { fake: { data: [{ value: 'v' }] } } }),
  store('negative qps', { ...validStore(), rateLimit: { qps: -1, burst: 1 } }),
  store('qps is a word', { ...validStore(), rateLimit: { qps: 'fast', burst: 1 } }),
  store('conditions on a SecretStore', { ...validStore(), conditions: [{ namespaces: ['a'] }] }),
  store('unknown field in provider', { provider: { fake: { data: [], extra: 1 } } }),
  // Accepted; the operator must report Ready=False with a reason.
  store('credential from another namespace', { provider: { vault: { server: 'http://127.0.0.1:1', auth: { tokenSecretRef: { name: 'token', key: 'token', namespace: 'kube-system' } } } } }),
  store('credential Secret missing', { provider: { vault: { server: 'http://127.0.0.1:1', auth: { tokenSecretRef: { name: 'nope', key: 'token' } } } } }),
  store('vault nobody listens on', { provider: { vault: { server: 'http://127.0.0.1:1', auth: token } } }),
  store('fake key repeated with one version', { provider: { fake: { data: [{ key: 'a', value: '1', version: '1' }, { key: 'a', value: '2', version: '1' }] } } }),
  store('cluster store without conditions namespace rule', { provider: { fake: { data: [] } }, conditions: [{ namespaceRegexes: ['('] }] }, 'ClusterSecretStore'),
  store('cluster store credential without namespace', { provider: { vault: { server: 'http://127.0.0.1:1', auth: token } } }, 'ClusterSecretStore'),
];

/** A random JSON value at a random path of a valid spec. */
function mutations(kind: 'ExternalSecret' | 'SecretStore', base: () => { [k: string]: Json }, count: number, seed: number): Case[] {
  const paths: string[][] = [];
  const walk = (node: Json, path: string[]) => {
    if (path.length) paths.push(path);
    if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(base(), []);
  const value = fc.oneof(fc.constant(null), fc.boolean(), fc.integer({ min: -5, max: 1e6 }), fc.string({ maxLength: 40 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
  const samples = fc.sample(fc.tuple(fc.integer({ min: 0, max: paths.length - 1 }), value), { numRuns: count, seed });
  return samples.map(([i, v], n) => {
    const spec = base();
    const path = paths[i]!;
    let node = spec;
    for (const key of path.slice(0, -1)) node = node[key] as { [k: string]: Json };
    node[path.at(-1)!] = v;
    return { name: `generated ${kind} #${n}: ${path.join('.')} = ${JSON.stringify(v).slice(0, 30)}`, kind, spec };
  });
}

export function corpus(): Case[] {
  return [...handWritten, ...mutations('ExternalSecret', validEs, 60, 42), ...mutations('SecretStore', validStore, 20, 7)];
}

if (import.meta.filename === process.argv[1]) {
  const cases = corpus();
  writeFileSync(join(import.meta.dirname, 'malformed.json'), `${JSON.stringify(cases, null, 1)}\n`);
  process.stdout.write(`${cases.length} cases\n`);
}
