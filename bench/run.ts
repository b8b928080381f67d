// `make bench`: N ExternalSecrets against the local control plane, each
// scenario measured side by side with two baselines in the same run (the
// physical ceiling and a minimum-work client, see baselines.ts). The operator
// runs as the Deployment runs it (operator-process.ts). Per scenario:
//
//   first sync      time until all Ready, operator CPU, API server CPU and
//                   requests per new ExternalSecret by verb, provider calls;
//   restart         the operator killed and started again with everything
//                   synced: provider calls, Secret writes and per-object GETs
//                   until the next refresh is due (at most 5 min; the refresh
//                   interval must exceed the first sync plus 5 min for all 5);
//   steady refresh  the restarted operator's first full refresh, where nothing
//                   changed: Secret writes, provider calls, API server writes
//                   per ExternalSecret; and new work under load: 50
//                   ExternalSecrets created while the refresh is due, their
//                   time to Ready (p50, p99).
//
// Then `isolation` (bench/isolation.ts): a healthy tenant's new ExternalSecret
// and forced refresh, p50 and p99, alone and beside a tenant whose provider
// hangs or is slow.
//
// `--unrelated N` first fills the cluster with N unrelated 100 KiB Secrets,
// so memory that grows with Secrets the operator does not own shows.
// Prints one table and writes JSON (and CPU profile summaries) to bench/results/.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import type { ExternalSecret, ExternalSecretSpec } from '../src/api/types.js';
import { KubeClient } from '../src/kube/client.js';
import { findReady } from '../src/kube/status.js';
import { API_VERSION, Resources } from '../src/kube/types.js';
import { createLogger } from '../src/runtime/log.js';
import { Informer } from '../src/runtime/informer.js';
import { startAwsProxy, type AwsProxy } from '../test/support/aws-proxy.js';
import { azureTestEnv, servicePrincipal, type AzureTestEnv } from '../test/support/azure.js';
import { readEnvFile } from '../test/support/env-file.js';
import type { GcpTestEnv } from '../test/support/gcp.js';
import { ConjurAdmin } from '../test/servers/conjur/admin-client.js';
import { openbaoRequests } from '../test/support/openbao-audit.js';
import { webhookSecret, webhookStore, webhookTestEnv, type WebhookTestEnv } from '../test/support/webhook.js';
import { minimumWork, physicalCeiling, pool } from './baselines.js';
import { isolation, isolationTable, type IsolationResult } from './isolation.js';
import { percentile } from '../test/support/tenant-latency.js';
import { apiserverRequests, cpuSeconds, diff, pidFrom, sum, type RequestCounts } from './cluster.js';
import { operatorKubeRequests, providerCallsByCall, scrape, startOperator, type OperatorProcess } from './operator-process.js';
import { topCpu, type Hotspot } from './profile-summary.js';

const root = join(import.meta.dirname, '..');
const opts = new Command()
  .option('-n, --count <n>', 'ExternalSecrets', (v) => Number(v), 1000)
  .option('-k, --keys <n>', 'distinct remote keys they read', (v) => Number(v), 100)
  .option('-c, --concurrency <n>', 'operator workers and client concurrency', (v) => Number(v), 16)
  .option('--refresh <duration>', 'refreshInterval of every ExternalSecret (a full refresh is measured)', '45s')
  .option('--scenarios <list>', 'which scenarios, in order: fake, fake-templated, vault, aws, azure, gcp, conjur, kubernetes, webhook, isolation (last: a healthy tenant beside a hung and a slow one, bench/isolation.ts)', 'fake,fake-templated,vault,aws,azure,gcp,conjur,kubernetes,webhook,isolation')
  .option('--isolation-hung <n>', 'isolation: the hung tenant\'s ExternalSecrets (reading 100 keys)', (v) => Number(v), 1000)
  .option('--isolation-samples <n>', 'isolation: the healthy tenant\'s new ExternalSecrets (and forced refreshes) per phase', (v) => Number(v), 20)
  .option('--unrelated <n>', 'unrelated Secrets (of --unrelated-size) to put in the cluster first', (v) => Number(v), 0)
  .option('--unrelated-size <KiB>', 'size of each unrelated Secret', (v) => Number(v), 100)
  .option('--memory-limit <MiB>', "the operator's memory limit (cgroup, and the heap sized from it); default the Deployment's", (v) => Number(v))
  .option('--new-under-load <n>', 'ExternalSecrets created while a full refresh is due', (v) => Number(v), 50)
  .option('--restart-window <s>', 'seconds to watch after a restart (capped before the next refresh)', (v) => Number(v), 300)
  .option('--profile', 'CPU-profile the operator through the first sync only (--cpu-prof), then name the top costs')
  .option('--first-sync-only', 'stop each scenario after the first sync (quick comparisons of the first sync)')
  .option('--gcpsm-transport <transport>', "the operator's --gcpsm-transport (grpc or rest); Google stores point at the matching endpoint", 'grpc')
  .option('--all-providers', "load every provider's SDK as well: before the measured first sync, one store of each other provider and one ExternalSecret reading it (refreshed hourly; not counted)")
  .parse()
  .opts<{ count: number; keys: number; concurrency: number; refresh: string; scenarios: string; isolationHung: number; isolationSamples: number; unrelated: number; unrelatedSize: number; memoryLimit?: number; newUnderLoad: number; restartWindow: number; profile?: boolean; firstSyncOnly?: boolean; allProviders?: boolean; gcpsmTransport: string }>();

type Kind = 'fake' | 'fake-templated' | 'vault' | 'aws' | 'azure' | 'gcp' | 'conjur' | 'kubernetes' | 'webhook';
const STATE = process.env.SECRETSYNC_STATE ?? join(root, '.dev');
// The control plane whose processes are measured (their pids are in STATE), and its provider servers.
const kubeconfigPath = join(STATE, 'kubeconfig');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const kube = new KubeClient(kc);
const log = createLogger('warn');
const stamp = Date.now().toString(36);
const apiserverPid = pidFrom(join(STATE, 'kube-apiserver.pid'));
const say = (text: string) => process.stdout.write(`${text}\n`);

async function namespace(name: string): Promise<string> {
  await kube.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** Deletes a namespace and waits until it is gone, so its cleanup does not load the next phase. */
async function removeNamespace(name: string): Promise<void> {
  await kube.delete(Resources.Namespace, undefined, name).catch(() => undefined);
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline && (await kube.getOrUndefined(Resources.Namespace, undefined, name))) {
    await new Promise((r) => setTimeout(r, 250));
  }
}

function secretValue(i: number): string {
  return JSON.stringify({ username: `user-${i}`, password: `pw-${i}-${'x'.repeat(24)}` });
}

async function waitUntil(what: string, fn: () => boolean, timeoutMs: number, progress?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let nextReport = Date.now() + 15_000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}${progress ? ` (${progress()})` : ''}`);
    if (progress && Date.now() > nextReport) {
      say(`  ... ${what}: ${progress()}`);
      nextReport = Date.now() + 15_000;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function esSpec(i: number, templated: boolean, keyPrefix: string): ExternalSecretSpec {
  const spec: ExternalSecretSpec = {
    secretStoreRef: { name: 'bench', kind: 'SecretStore' },
    refreshInterval: opts.refresh,
    target: { name: `s-${i}` },
    data: [{ secretKey: 'password', remoteRef: { key: `${keyPrefix}key-${i % opts.keys}`, property: 'password' } }],
  };
  if (templated) {
    spec.target!.template = {
      metadata: { labels: { app: `bench-{{ "x" | upcase }}` } },
      data: { 'config.yaml': 'user: {{ password | default: "none" }}\nurl: postgres://db-{{ password | size }}' },
    };
  }
  return spec;
}

let awsProxy: AwsProxy | undefined;
let azure: AzureTestEnv | undefined;
let gcp: GcpTestEnv | undefined;
let conjur: ConjurAdmin | undefined;
let webhook: WebhookTestEnv | undefined;
/** Namespaces a scenario's store reads from (kubernetes), removed with the scenario. */
const sourceNamespaces: string[] = [];

/** The provider servers' settings the control plane wrote (the Azure ones reach the operator process too). */
const stateEnv = (): Record<string, string> => readEnvFile(join(STATE, 'env'));

/** The store for a scenario; for vault and aws, the remote keys are written to the server first. */
async function createStore(kind: Kind, ns: string, name = 'bench'): Promise<string> {
  const store = (provider: object) => kube.create(Resources.SecretStore, { apiVersion: API_VERSION, kind: 'SecretStore', metadata: { name, namespace: ns }, spec: { provider } } as never);
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const prefix = `bench-${stamp}/`;
  if (kind === 'vault') {
    const { VAULT_ADDR: addr, VAULT_TOKEN: token } = stateEnv();
    if (!addr || !token) throw new Error(`no VAULT_ADDR / VAULT_TOKEN in ${join(STATE, 'env')}`);
    await pool([...Array(opts.keys).keys()], 8, async (i) => {
      const res = await fetch(`${addr}/v1/secret/data/${prefix}key-${i}`, { method: 'POST', headers: { 'X-Vault-Token': token }, body: JSON.stringify({ data: JSON.parse(secretValue(i)) as object }) });
      if (!res.ok) throw new Error(`writing to OpenBao failed: HTTP ${res.status}`);
    });
    await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: ns }, data: { token: b64(token) } });
    await store({ vault: { server: addr, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } });
    return prefix;
  }
  if (kind === 'aws') {
    const endpoint = stateEnv().AWS_ENDPOINT_URL;
    if (!endpoint) throw new Error(`no AWS_ENDPOINT_URL in ${join(STATE, 'env')}`);
    const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await pool([...Array(opts.keys).keys()], 8, (i) => sm.send(new CreateSecretCommand({ Name: `${prefix}key-${i}`, SecretString: secretValue(i) })));
    awsProxy = await startAwsProxy(endpoint);
    await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'aws-creds', namespace: ns }, data: { id: b64('testing'), secret: b64('testing') } });
    await store({ aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: awsProxy.url, auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } } } });
    return prefix;
  }
  if (kind === 'azure') {
    const env = stateEnv();
    azure ??= await azureTestEnv(env);
    for (const name of ['AZURE_AUTHORITY_HOST', 'NODE_EXTRA_CA_CERTS']) process.env[name] = env[name];
    const az = azure;
    const namePrefix = `bench-${stamp}-`;
    await pool([...Array(opts.keys).keys()], 8, (i) => az.secrets.setSecret(`${namePrefix}key-${i}`, secretValue(i)));
    const sp = await servicePrincipal(az, { secrets: ['get'] });
    await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'azure-creds', namespace: ns }, data: { clientId: b64(sp.clientId), clientSecret: b64(sp.secret) } });
    await store({ azurekv: { vaultUrl: az.vaultUrl, tenantId: az.tenantId, authType: 'ServicePrincipal', authSecretRef: { clientId: { name: 'azure-creds', key: 'clientId' }, clientSecret: { name: 'azure-creds', key: 'clientSecret' } } } });
    return namePrefix;
  }
  if (kind === 'gcp') {
    const env = stateEnv();
    // gRPC reads its roots file when it loads, so the test CA is in place before the SDK is imported.
    for (const name of ['GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', 'NODE_EXTRA_CA_CERTS']) process.env[name] = env[name];
    const support = await import('../test/support/gcp.js');
    gcp ??= await support.gcpTestEnv(env);
    const g = gcp;
    const namePrefix = `bench-${stamp}-`;
    await pool([...Array(opts.keys).keys()], 8, (i) => support.putSecret(g, `${namePrefix}key-${i}`, secretValue(i)));
    const key = await support.serviceAccountKey(g.admin, 'bench', ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']);
    await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'gcp-key', namespace: ns }, data: { 'key.json': b64(key.json) } });
    await store({ gcpsm: { projectID: g.project, endpoint: opts.gcpsmTransport === 'rest' ? g.restEndpoint : g.endpoint, auth: { secretRef: { secretAccessKeySecretRef: { name: 'gcp-key', key: 'key.json' } } } } });
    return namePrefix;
  }
  if (kind === 'conjur') {
    const env = stateEnv();
    process.env.NODE_EXTRA_CA_CERTS = env.NODE_EXTRA_CA_CERTS;
    conjur ??= new ConjurAdmin(env.CONJUR_APPLIANCE_URL!, readFileSync(env.CONJUR_TEST_ADMIN_KEY_FILE!, 'utf8').trim(), env.TEST_CA_FILE!);
    const admin = conjur;
    const login = `host/bench/${stamp}`;
    const apiKey = await admin.addRole(login);
    await pool([...Array(opts.keys).keys()], 8, (i) => admin.addVariable({ id: `${prefix}key-${i}`, values: [secretValue(i)], permissions: { [login]: 'execute' } }));
    await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'conjur-creds', namespace: ns }, data: { login: b64(login), apiKey: b64(apiKey) } });
    await store({ conjur: { url: env.CONJUR_APPLIANCE_URL, caBundle: readFileSync(env.TEST_CA_FILE!, 'utf8'), auth: { apikey: { account: env.CONJUR_ACCOUNT, userRef: { name: 'conjur-creds', key: 'login' }, apiKeyRef: { name: 'conjur-creds', key: 'apiKey' } } } } });
    return prefix;
  }
  if (kind === 'kubernetes') {
    // Secrets of another namespace, read as a ServiceAccount of the bench namespace that RBAC lets read them.
    const source = await namespace(`bench-src-${stamp}-${name}`);
    sourceNamespaces.push(source);
    await pool([...Array(opts.keys).keys()], 8, (i) => kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `key-${i}`, namespace: source }, data: Object.fromEntries(Object.entries(JSON.parse(secretValue(i)) as Record<string, string>).map(([k, v]) => [k, b64(v)])) }));
    await kube.create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bench-reader', namespace: ns } });
    await kube.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${source}/roles`, { body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'bench-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }] } });
    await kube.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${source}/rolebindings`, { body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'bench-reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bench-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'bench-reader', namespace: ns }] } });
    await store({ kubernetes: { remoteNamespace: source, auth: { serviceAccount: { name: 'bench-reader' } } } });
    return '';
  }
  if (kind === 'webhook') {
    const env = stateEnv();
    webhook ??= webhookTestEnv(env);
    const hook = webhook;
    const token = `bench-${stamp}-${name}`;
    await hook.admin.token(token);
    await pool([...Array(opts.keys).keys()], 8, (i) => hook.admin.put(`${prefix}key-${i}`, secretValue(i)));
    await webhookSecret(kube, ns, 'webhook-auth', { token });
    await store(webhookStore(hook).provider);
    return prefix;
  }
  await store({ fake: { data: Array.from({ length: opts.keys }, (_, i) => ({ key: `key-${i}`, value: secretValue(i), version: '1' })) } });
  return '';
}

const LOAD_PREFIX = 'load-';

/**
 * --all-providers: one store of every other provider and one ExternalSecret
 * reading it, synced before the measured first sync, so that every SDK is
 * loaded and has made its calls (their memory is in the figures, their calls
 * and writes are not).
 */
async function loadStores(scenario: Kind, ns: string): Promise<Map<Kind, string>> {
  const kinds = (['vault', 'aws', 'azure', 'gcp', 'conjur', 'kubernetes', 'webhook'] as const).filter((k) => k !== scenario);
  say(`[load] a store each for ${kinds.join(', ')}`);
  const prefixes = new Map<Kind, string>();
  for (const kind of kinds) prefixes.set(kind, await createStore(kind, ns, `${LOAD_PREFIX}${kind}`));
  return prefixes;
}

/** One ExternalSecret per loaded store, until all are Ready. */
async function syncLoadedStores(prefixes: Map<Kind, string>, ns: string): Promise<void> {
  const kinds = [...prefixes.keys()];
  for (const [kind, keyPrefix] of prefixes) {
    const name = `${LOAD_PREFIX}${kind}`;
    await kube.create(Resources.ExternalSecret, {
      apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name, namespace: ns },
      spec: { secretStoreRef: { name, kind: 'SecretStore' }, refreshInterval: '1h', target: { name }, data: [{ secretKey: 'password', remoteRef: { key: `${keyPrefix}key-0`, property: 'password' } }] },
    } as never);
  }
  const deadline = Date.now() + 120_000;
  for (const kind of kinds) {
    for (;;) {
      const es = await kube.get<ExternalSecret>(Resources.ExternalSecret, ns, `${LOAD_PREFIX}${kind}`);
      const ready = findReady(es?.status);
      if (ready?.status === 'True') break;
      if (Date.now() > deadline) throw new Error(`--all-providers: the ${kind} ExternalSecret is not Ready: ${ready?.reason ?? 'no status'}: ${ready?.message ?? ''}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  say(`[load] every provider synced`);
}

/** Requests the scenario's provider server has received so far (undefined: the fake has no server). */
async function serverRequests(kind: Kind): Promise<number | undefined> {
  if (kind === 'vault') return openbaoRequests(STATE);
  if (kind === 'aws') return awsProxy?.total() ?? 0;
  if (kind === 'azure') return (await azure!.admin.stats()).vault;
  if (kind === 'gcp') return (await gcp!.admin.stats()).api;
  if (kind === 'conjur') return (await conjur!.stats()).requests;
  if (kind === 'webhook') return webhook!.admin.requests();
  return undefined;
}

/** Resources the operator reads or writes; the control plane's own background requests (leases, endpoints) are not its. */
const OPERATOR_RESOURCES = /^\w+ (secrets|externalsecrets|secretstores|clustersecretstores|events|configmaps|serviceaccounts|namespaces)(\/\w+)?( \d+)?$/;

/** Requests the operator made: everything on its resources but the bench's own ExternalSecret creates and its watch. */
function operatorRequests(counts: RequestCounts, benchCreates = 0): RequestCounts {
  const out = new Map(counts);
  out.set('POST externalsecrets', (out.get('POST externalsecrets') ?? 0) - benchCreates);
  for (const key of [...out.keys()]) {
    if ((out.get(key) ?? 0) <= 0 || /^(WATCH|LIST) /.test(key) || !OPERATOR_RESOURCES.test(key)) out.delete(key);
  }
  return out;
}

function perItem(counts: RequestCounts, n: number): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / n).toFixed(3))]));
}

const isWrite = (key: string) => /^(POST|PUT|PATCH|DELETE|APPLY) /.test(key);

interface Scenario {
  label: string;
  memory: string;
  ceilingMs: number;
  ceilingApiserverCpuS: number;
  minimumWorkMs: number;
  minimumWorkApiserverCpuS: number;
  /** CPU of the bench process itself: the minimum-work client, and the creates plus the watch for Ready during the first sync. */
  benchCpuS: { minimumWork: number; firstSync: number };
  allReadyMs: number;
  vsCeiling: number;
  vsMinimumWork: number;
  firstSync: {
    operatorCountedRequestsPerNewExternalSecret: Record<string, number>;
    operatorCpuSPer1000: number;
    apiserverCpuS: number;
    requestsPerNewExternalSecret: Record<string, number>;
    requestsPerNewExternalSecretTotal: number;
    secretWrites: number;
    providerCalls: number;
    sharedReads: number;
    eventsDropped: number;
    reconcilesPerNewExternalSecret: number;
  };
  steadyRefresh?: { dueMoments: number; waitedMs: number; secretUpdates: number; providerCalls: number; providerCallsByCall: Record<string, number>; serverRequests?: number; apiserverWritesPerExternalSecret: number };
  newUnderLoad?: { count: number; p50Ms: number; p99Ms: number };
  restart?: { windowS: number; providerCalls: number; serverRequests?: number; secretWrites: number; perObjectGets: number; apiserverGets: number };
  operatorPeakRssMiB: number;
  /** Where the peak was: the first process (first sync) and the restarted one (start, refresh, new work). */
  operatorPeakRssByProcessMiB?: { firstSync: number; restartWindow: number; restarted: number };
  /** The restarted operator's resident memory after the refresh, by kind. */
  operatorRssAfterRefreshMiB?: { anon: number; file: number };
  operatorHeapUsedMiB: number;
  /** Highest V8 heap committed and external (Buffer) memory seen, sampled every 2 s. */
  operatorPeakHeapTotalMiB?: number;
  operatorPeakExternalMiB?: number;
  profile?: Hotspot[];
}

async function scenario(kind: Kind): Promise<Scenario> {
  const templated = kind === 'fake-templated';
  const id = `${stamp}-${kind}`;
  const label = kind;
  let op: OperatorProcess | undefined;
  const ns = await namespace(`bench-${id}`);
  try {
    say(`[${label}] physical ceiling: ${opts.count} Secret POSTs at concurrency ${opts.concurrency}`);
    const ceilingNs = await namespace(`bench-ceiling-${id}`);
    const ceilingCpu = cpuSeconds(apiserverPid);
    const ceilingMs = await physicalCeiling(kube, ceilingNs, opts.count, opts.concurrency);
    const ceilingApiserverCpuS = cpuSeconds(apiserverPid) - ceilingCpu;
    await removeNamespace(ceilingNs);

    say(`[${label}] minimum work: create ExternalSecret, create Secret, patch status, ${opts.count} times`);
    const minNs = await namespace(`bench-minimum-${id}`);
    const minCpu = cpuSeconds(apiserverPid);
    const minBenchCpu = cpuSeconds(process.pid);
    const minimumWorkMs = await minimumWork(kube, minNs, opts.count, opts.concurrency, (i) => esSpec(i, templated, ''));
    const minimumWorkApiserverCpuS = cpuSeconds(apiserverPid) - minCpu;
    const minimumWorkBenchCpuS = cpuSeconds(process.pid) - minBenchCpu;
    await removeNamespace(minNs);

    const keyPrefix = await createStore(kind, ns);
    // Their stores (and the settings the SDKs read at start, such as the test CA) before the operator starts.
    const loaded = opts.allProviders ? await loadStores(kind, ns) : undefined;
    const profileDir = join(root, 'bench/results/profiles', id);
    op = await startOperator({
      kubeconfig: kubeconfigPath,
      name: id,
      args: ['--watch-namespace', ns, '--workers', String(opts.concurrency), '--gcpsm-transport', opts.gcpsmTransport],
      memoryLimitBytes: opts.memoryLimit ? opts.memoryLimit * 2 ** 20 : undefined,
      nodeFlags: opts.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    });
    const operator = op;
    if (loaded) await syncLoadedStores(loaded, ns);

    const watcher = new Informer<ExternalSecret>(kube, Resources.ExternalSecret, { namespace: ns, log });
    await watcher.start();
    const readyAt = new Map<string, number>();
    const firstRefresh = new Map<string, string>();
    let refreshesSeen = 0;
    const onChange = (es: ExternalSecret) => {
      const name = es.metadata.name;
      if (findReady(es.status)?.status !== 'True' || name.startsWith(LOAD_PREFIX)) return;
      if (!readyAt.has(name)) {
        readyAt.set(name, performance.now());
        firstRefresh.set(name, es.status!.refreshTime!);
      } else if (firstRefresh.get(name) !== es.status!.refreshTime && firstRefresh.get(name) !== 'seen') {
        firstRefresh.set(name, 'seen');
        refreshesSeen++;
      }
    };
    watcher.addHandlers({ onAdd: onChange, onUpdate: (_, es) => onChange(es) });

    say(`[${label}] operator: ${opts.count} ExternalSecrets reading ${opts.keys} distinct keys (memory: ${operator.memory})`);
    // Where the memory is at its peak: V8 heap committed, ArrayBuffers/Buffers, RSS; sampled every 2 s.
    const memoryPeak = { heapTotal: 0, external: 0 };
    let metricsPort = operator.metricsPort;
    const sampler = setInterval(() => {
      void scrape(metricsPort).then((m) => {
        memoryPeak.heapTotal = Math.max(memoryPeak.heapTotal, m.get('nodejs_heap_size_total_bytes') ?? 0);
        memoryPeak.external = Math.max(memoryPeak.external, m.get('nodejs_external_memory_bytes') ?? 0);
      }).catch(() => undefined);
    }, 2000);
    const before = { requests: await apiserverRequests(kube), apiserverCpu: cpuSeconds(apiserverPid), operatorCpu: operator.cpuSeconds(), benchCpu: cpuSeconds(process.pid) };
    const started = performance.now();
    await pool([...Array(opts.count).keys()], opts.concurrency, (i) =>
      kube.create(Resources.ExternalSecret, { apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name: `es-${i}`, namespace: ns }, spec: esSpec(i, templated, keyPrefix) } as never),
    );
    await waitUntil('all Ready', () => readyAt.size >= opts.count, 1_200_000, () => `${readyAt.size}/${opts.count} Ready`);
    const allReadyMs = Math.max(...readyAt.values()) - started;
    const firstSyncOperatorCpu = operator.cpuSeconds() - before.operatorCpu;
    // The bench's creates and its watch for Ready share the cores with the operator.
    const firstSyncBenchCpuS = cpuSeconds(process.pid) - before.benchCpu;
    const apiserverCpuS = cpuSeconds(apiserverPid) - before.apiserverCpu;
    const firstSyncRequests = operatorRequests(diff(await apiserverRequests(kube), before.requests), opts.count);
    const afterSync = await scrape(operator.metricsPort);
    const selfCounted = await operatorKubeRequests(operator.metricsPort);
    const firstSync = {
      operatorCountedRequestsPerNewExternalSecret: perItem(selfCounted, opts.count),
      operatorCpuSPer1000: Number(((firstSyncOperatorCpu * 1000) / opts.count).toFixed(2)),
      apiserverCpuS: Number(apiserverCpuS.toFixed(1)),
      requestsPerNewExternalSecret: perItem(firstSyncRequests, opts.count),
      requestsPerNewExternalSecretTotal: Number((sum(firstSyncRequests) / opts.count).toFixed(2)),
      secretWrites: afterSync.get('secretsync_secret_writes_total') ?? 0,
      providerCalls: afterSync.get('secretsync_provider_calls_total') ?? 0,
      sharedReads: afterSync.get('secretsync_provider_cache_hits_total') ?? 0,
      eventsDropped: afterSync.get('secretsync_events_dropped_total') ?? 0,
      // Both controllers: the store's few reconciles barely show.
      reconcilesPerNewExternalSecret: Number(((afterSync.get('secretsync_reconcile_total') ?? 0) / opts.count).toFixed(2)),
    };
    const common = {
      label,
      memory: operator.memory,
      ceilingMs: Math.round(ceilingMs),
      ceilingApiserverCpuS: Number(ceilingApiserverCpuS.toFixed(1)),
      minimumWorkMs: Math.round(minimumWorkMs),
      minimumWorkApiserverCpuS: Number(minimumWorkApiserverCpuS.toFixed(1)),
      benchCpuS: { minimumWork: Number(minimumWorkBenchCpuS.toFixed(1)), firstSync: Number(firstSyncBenchCpuS.toFixed(1)) },
      allReadyMs: Math.round(allReadyMs),
      vsCeiling: Number((allReadyMs / ceilingMs).toFixed(2)),
      vsMinimumWork: Number((allReadyMs / minimumWorkMs).toFixed(2)),
      firstSync,
    };
    if (opts.profile || opts.firstSyncOnly) {
      clearInterval(sampler);
      // A profile is written when the process exits normally: stop it here.
      const peak = operator.peakRssMiB();
      const heapUsed = afterSync.get('nodejs_heap_size_used_bytes') ?? 0;
      await watcher.stop();
      await operator.stop('SIGTERM');
      const file = opts.profile ? readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
      return {
        ...common,
        operatorPeakRssMiB: Number(peak.toFixed(1)),
        operatorHeapUsedMiB: Number((heapUsed / 2 ** 20).toFixed(1)),
        operatorPeakHeapTotalMiB: Number((memoryPeak.heapTotal / 2 ** 20).toFixed(1)),
        operatorPeakExternalMiB: Number((memoryPeak.external / 2 ** 20).toFixed(1)),
        profile: file ? topCpu(join(profileDir, file), 10) : undefined,
      };
    }

    // The restart comes first, while nothing is due: the refresh that follows is then the restarted
    // operator's, and the wait for it is the restart's window (up to 5 min with a long enough interval).
    say(`[${label}] restart: kill -9, start again, watch what it does until the next refresh is due`);
    const firstPeakRss = operator.peakRssMiB();
    await operator.stop('SIGKILL');
    let earliestDue = Infinity;
    const dueTimes = new Map<string, number>();
    for (const es of watcher.values()) {
      const due = es.status?.nextRefreshTime ?? 'none';
      dueTimes.set(due, (dueTimes.get(due) ?? 0) + 1);
      earliestDue = Math.min(earliestDue, Date.parse(due) || Infinity);
    }
    say(`[${label}] refreshes due: ${[...dueTimes].sort().map(([at, n]) => `${n} at ${at}`).join(', ')}`);
    const restartBefore = { requests: await apiserverRequests(kube), server: await serverRequests(kind) };
    const restarted = await startOperator({ kubeconfig: kubeconfigPath, name: `${id}-restart`, args: ['--watch-namespace', ns, '--workers', String(opts.concurrency), '--gcpsm-transport', opts.gcpsmTransport], memoryLimitBytes: opts.memoryLimit ? opts.memoryLimit * 2 ** 20 : undefined });
    op = restarted;
    metricsPort = restarted.metricsPort;
    const windowS = Math.max(5, Math.min(opts.restartWindow, Math.floor((earliestDue - Date.now()) / 1000) - 5));
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const restartMetrics = await scrape(restarted.metricsPort);
    const restartWindowPeakRss = restarted.peakRssMiB();
    const restartServer = await serverRequests(kind);
    const restartRequests = operatorRequests(diff(await apiserverRequests(kube), restartBefore.requests));
    // The API server counts every client's GETs (the control plane's own controllers among them);
    // the operator's own count says which are its.
    const restartOwn = await operatorKubeRequests(restarted.metricsPort);
    const isGet = (k: string) => k.startsWith('GET ');
    say(`[${label}] restart: the operator's own requests: ${[...restartOwn].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; GETs the API server saw: ${[...restartRequests].filter(([k]) => isGet(k)).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);

    say(`[${label}] steady refresh: one full refresh (refreshInterval ${opts.refresh}), ${opts.newUnderLoad} new ExternalSecrets created while it is due`);
    const refreshStarted = performance.now();
    const refreshBefore = { requests: await apiserverRequests(kube), server: await serverRequests(kind), metrics: await scrape(restarted.metricsPort), calls: await providerCallsByCall(restarted.metricsPort) };
    await waitUntil('the full refresh starts', () => refreshesSeen > 0, 900_000);
    const created = new Map<string, number>();
    await pool([...Array(opts.newUnderLoad).keys()], 8, async (j) => {
      const i = opts.count + j;
      const name = `es-${i}`;
      created.set(name, performance.now());
      await kube.create(Resources.ExternalSecret, { apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name, namespace: ns }, spec: esSpec(i, templated, keyPrefix) } as never);
    });
    await waitUntil('the full refresh and the new ExternalSecrets', () => refreshesSeen >= opts.count && [...created.keys()].every((n) => readyAt.has(n)), 900_000,
      () => `${refreshesSeen}/${opts.count} refreshed, ${[...created.keys()].filter((n) => readyAt.has(n)).length}/${created.size} new Ready`);
    const refreshMs = performance.now() - refreshStarted;
    clearInterval(sampler);
    const newLatencies = [...created].map(([name, at]) => readyAt.get(name)! - at);
    const afterRefresh = await scrape(restarted.metricsPort);
    const refreshCalls = diff(await providerCallsByCall(restarted.metricsPort), refreshBefore.calls);
    const refreshRequests = diff(await apiserverRequests(kube), refreshBefore.requests);
    const refreshServer = await serverRequests(kind);
    const peakRss = Math.max(firstPeakRss, restarted.peakRssMiB());
    const rssAfterRefresh = restarted.rssNowMiB();
    const heapUsed = afterRefresh.get('nodejs_heap_size_used_bytes') ?? 0;
    await watcher.stop();

    const metric = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
    const secretWriteVerbs = (k: string) => isWrite(k) && / secrets$/.test(k);
    return {
      ...common,
      steadyRefresh: {
        // Distinct refresh times after the first sync: 1 when every ExternalSecret is on the store's beat.
        dueMoments: dueTimes.size,
        waitedMs: Math.round(refreshMs),
        // The new ExternalSecrets' creates are not refresh writes.
        secretUpdates: metric(afterRefresh, 'secretsync_secret_writes_total') - metric(refreshBefore.metrics, 'secretsync_secret_writes_total') - opts.newUnderLoad,
        providerCalls: metric(afterRefresh, 'secretsync_provider_calls_total') - metric(refreshBefore.metrics, 'secretsync_provider_calls_total'),
        // The new ExternalSecrets' first reads are in here too: they need values.
        providerCallsByCall: Object.fromEntries(refreshCalls),
        serverRequests: refreshServer === undefined ? undefined : refreshServer - refreshBefore.server!,
        apiserverWritesPerExternalSecret: Number(((sum(refreshRequests, isWrite) - 3 * opts.newUnderLoad) / opts.count).toFixed(2)),
      },
      newUnderLoad: { count: opts.newUnderLoad, p50Ms: Math.round(percentile(newLatencies, 50)), p99Ms: Math.round(percentile(newLatencies, 99)) },
      restart: {
        windowS,
        providerCalls: metric(restartMetrics, 'secretsync_provider_calls_total'),
        serverRequests: restartServer === undefined ? undefined : restartServer - restartBefore.server!,
        secretWrites: sum(restartRequests, secretWriteVerbs),
        perObjectGets: sum(restartOwn, isGet),
        apiserverGets: sum(restartRequests, isGet),
      },
      operatorPeakRssMiB: Number(peakRss.toFixed(1)),
      operatorPeakRssByProcessMiB: { firstSync: Number(firstPeakRss.toFixed(1)), restartWindow: Number(restartWindowPeakRss.toFixed(1)), restarted: Number(restarted.peakRssMiB().toFixed(1)) },
      operatorRssAfterRefreshMiB: rssAfterRefresh,
      operatorHeapUsedMiB: Number((heapUsed / 2 ** 20).toFixed(1)),
      operatorPeakHeapTotalMiB: Number((memoryPeak.heapTotal / 2 ** 20).toFixed(1)),
      operatorPeakExternalMiB: Number((memoryPeak.external / 2 ** 20).toFixed(1)),
    };
  } finally {
    await op?.stop();
    await awsProxy?.close();
    awsProxy = undefined;
    await removeNamespace(ns);
    for (const source of sourceNamespaces.splice(0)) await removeNamespace(source);
  }
}

/** N unrelated Secrets of --unrelated-size KiB each, in a namespace of their own. */
async function unrelatedSecrets(count: number): Promise<string | undefined> {
  if (count <= 0) return undefined;
  const ns = await namespace(`bench-unrelated-${stamp}`);
  say(`[setup] ${count} unrelated Secrets of ${opts.unrelatedSize} KiB`);
  const payload = Buffer.alloc(opts.unrelatedSize * 1024, 'u').toString('base64');
  await pool([...Array(count).keys()], 8, (i) => kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `unrelated-${i}`, namespace: ns }, data: { blob: payload } } as never));
  return ns;
}

function table(results: Scenario[]): string {
  const col = (f: (r: Scenario) => string | number | undefined) => results.map((r) => { const v = f(r); return v === undefined ? '-' : String(v); });
  const verbs = [...new Set(results.flatMap((r) => Object.keys(r.firstSync.requestsPerNewExternalSecret)))];
  const rows: Array<[string, ...string[]]> = [
    ['', ...results.map((r) => r.label)],
    ['physical ceiling: N Secret POSTs', ...col((r) => `${r.ceilingMs} ms`)],
    ['minimum work: ES + Secret + status per ES', ...col((r) => `${r.minimumWorkMs} ms`)],
    ['time until all Ready', ...col((r) => `${r.allReadyMs} ms`)],
    ['  vs physical ceiling (target <= 3)', ...col((r) => `x${r.vsCeiling}`)],
    ['  vs minimum work (target <= 1.3)', ...col((r) => `x${r.vsMinimumWork}`)],
    ['operator CPU per 1,000 synced (target < 2.9 s)', ...col((r) => `${r.firstSync.operatorCpuSPer1000} s`)],
    ['apiserver CPU, first sync (incl. bench creates)', ...col((r) => `${r.firstSync.apiserverCpuS} s`)],
    ['  same, minimum-work client', ...col((r) => `${r.minimumWorkApiserverCpuS} s`)],
    ['  same, physical ceiling', ...col((r) => `${r.ceilingApiserverCpuS} s`)],
    ['bench process CPU: minimum work / first sync', ...col((r) => `${r.benchCpuS.minimumWork} / ${r.benchCpuS.firstSync} s`)],
    ['apiserver requests per new ES (target <= 2)', ...col((r) => r.firstSync.requestsPerNewExternalSecretTotal)],
    ...verbs.map((v): [string, ...string[]] => [`  ${v}`, ...col((r) => r.firstSync.requestsPerNewExternalSecret[v] ?? 0)]),
    ['  as the operator counts its own', ...col((r) => Object.entries(r.firstSync.operatorCountedRequestsPerNewExternalSecret).filter(([, v]) => v >= 0.01).map(([k, v]) => `${k} ${v}`).join(', '))],
    ['Normal Events dropped over budget, first sync', ...col((r) => r.firstSync.eventsDropped)],
    ['operator reconciles per new ES, first sync', ...col((r) => r.firstSync.reconcilesPerNewExternalSecret)],
    ['Secret writes, first sync', ...col((r) => r.firstSync.secretWrites)],
    ['provider calls, first sync', ...col((r) => r.firstSync.providerCalls)],
    ['  reads shared instead of called', ...col((r) => r.firstSync.sharedReads)],
    ['steady refresh: distinct due times (1: one beat)', ...col((r) => r.steadyRefresh?.dueMoments)],
    ['  Secret writes (target 0)', ...col((r) => r.steadyRefresh?.secretUpdates)],
    ['  provider calls (target: distinct keys)', ...col((r) => r.steadyRefresh?.providerCalls)],
    ['  by call (incl. the new ExternalSecrets\' reads)', ...col((r) => r.steadyRefresh && Object.entries(r.steadyRefresh.providerCallsByCall).map(([k, v]) => `${k} ${v}`).join(', '))],
    ['  requests the provider server received', ...col((r) => r.steadyRefresh?.serverRequests)],
    ['  apiserver writes per ES', ...col((r) => r.steadyRefresh?.apiserverWritesPerExternalSecret)],
    ['new under load: time to Ready p50', ...col((r) => r.newUnderLoad && `${r.newUnderLoad.p50Ms} ms`)],
    ['  p99 (target <= 2000 ms)', ...col((r) => r.newUnderLoad && `${r.newUnderLoad.p99Ms} ms`)],
    ['restart: window watched', ...col((r) => r.restart && `${r.restart.windowS} s`)],
    ['  provider calls (target 0)', ...col((r) => r.restart?.providerCalls)],
    ['  Secret writes (target 0)', ...col((r) => r.restart?.secretWrites)],
    ['  GETs (target 0 per object; 1 is the installation key)', ...col((r) => r.restart?.perObjectGets)],
    ['  GETs the API server saw from all clients', ...col((r) => r.restart?.apiserverGets)],
    ['operator peak RSS (target <= 150 MiB)', ...col((r) => `${r.operatorPeakRssMiB} MiB`)],
    ['  first sync / restart window / restarted, to the end', ...col((r) => r.operatorPeakRssByProcessMiB && `${r.operatorPeakRssByProcessMiB.firstSync} / ${r.operatorPeakRssByProcessMiB.restartWindow} / ${r.operatorPeakRssByProcessMiB.restarted} MiB`)],
    ['  RSS after the refresh: anonymous / file-backed', ...col((r) => r.operatorRssAfterRefreshMiB && `${r.operatorRssAfterRefreshMiB.anon} / ${r.operatorRssAfterRefreshMiB.file} MiB`)],
    [`operator heap in use after the ${opts.firstSyncOnly || opts.profile ? 'first sync' : 'refresh'}`, ...col((r) => `${r.operatorHeapUsedMiB} MiB`)],
    ['  peak V8 heap committed / external memory', ...col((r) => r.operatorPeakHeapTotalMiB !== undefined ? `${r.operatorPeakHeapTotalMiB} / ${r.operatorPeakExternalMiB} MiB` : undefined)],
    ['memory limit applied as', ...col((r) => r.memory)],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')).join('\n');
}

function isolationScenario(): Promise<IsolationResult> {
  const { VAULT_ADDR: addr, VAULT_TOKEN: token } = stateEnv();
  if (!addr || !token) throw new Error(`no VAULT_ADDR / VAULT_TOKEN in ${join(STATE, 'env')}`);
  return isolation({
    kube,
    kubeconfig: kubeconfigPath,
    vault: { addr, token },
    workers: opts.concurrency,
    hung: opts.isolationHung,
    slow: 48,
    samples: opts.isolationSamples,
    sampleTimeoutMs: 30_000,
    stamp,
    namespace,
    removeNamespace,
    say,
  });
}

async function main(): Promise<void> {
  const runStarted = Date.now();
  const unrelatedNs = await unrelatedSecrets(opts.unrelated);
  const results: Scenario[] = [];
  const names = opts.scenarios.split(',').map((k) => k.trim());
  let isolated: IsolationResult | undefined;
  try {
    for (const kind of names.filter((k) => k !== 'isolation') as Kind[]) results.push(await scenario(kind));
    if (names.includes('isolation')) isolated = await isolationScenario();
  } finally {
    if (unrelatedNs) await removeNamespace(unrelatedNs);
    await azure?.admin.close();
    await gcp?.admin.close();
    await gcp?.sm.close();
    await conjur?.close();
  }
  const plain = results.find((r) => r.label === 'fake');
  const templatedRun = results.find((r) => r.label === 'fake-templated');
  const summary = {
    count: opts.count,
    distinctKeys: opts.keys,
    concurrency: opts.concurrency,
    refreshInterval: opts.refresh,
    unrelatedSecrets: opts.unrelated,
    unrelatedSecretKiB: opts.unrelatedSize,
    memoryLimitMiB: opts.memoryLimit,
    minutes: Number(((Date.now() - runStarted) / 60_000).toFixed(1)),
    scenarios: results,
    templatedVsPlain: plain && templatedRun ? Number((templatedRun.allReadyMs / plain.allReadyMs).toFixed(3)) : undefined,
    isolation: isolated,
  };
  say(`\nsecretsync bench: ${opts.count} ExternalSecrets per scenario, ${opts.keys} distinct remote keys, concurrency ${opts.concurrency}, ${opts.unrelated} unrelated ${opts.unrelatedSize} KiB Secrets, ${summary.minutes} min\n`);
  if (results.length > 0) say(table(results));
  if (isolated) say(`\n${isolationTable(isolated)}`);
  if (summary.templatedVsPlain !== undefined) say(`\nfake-templated / fake time until all Ready: x${summary.templatedVsPlain} (target <= x1.10)`);
  for (const r of results) {
    if (!r.profile) continue;
    say(`\n[${r.label}] operator CPU profile, first sync: most CPU, inclusive, share of busy time`);
    for (const h of r.profile) say(`  ${String(h.inclusiveMs).padStart(6)} ms  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}  ${h.where}`);
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `${stamp}-n${opts.count}.json`);
  writeFileSync(file, JSON.stringify(summary, null, 2));
  say(`JSON: ${file}`);
}

await main();
process.exit(0);
