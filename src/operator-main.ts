// The operator: reads flags and environment, then runs the controllers with a
// metrics and health endpoint until SIGINT/SIGTERM (`secretsync run`, or
// `secretsync` with flags only, as the Deployment starts it).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { homedir, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from './runtime/log.js';
import { Metrics } from './runtime/metrics.js';
import { FileJournal } from './runtime/reconcile-journal.js';
import { Operator } from './operator.js';
import { parseHostPolicy } from './providers/host-policy.js';
import { operatorProgram } from './operator-flags.js';

const program = operatorProgram();
program.parse();
const opts = program.opts<{
  namespace: string;
  watchNamespace?: string;
  workers: number;
  sharedReadMaxAge: number;
  providerTimeout: number;
  gcpsmTransport: 'grpc' | 'rest';
  slowCallAfter: number;
  metricsPort: number;
  metricsBindAddress: string;
  logLevel: string;
  leaderElect: boolean;
  leaderElectId: string;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  shutdownTimeout: number;
  clusterSecretStores: boolean;
  denyStoreHosts: string;
  rolloutRestart: boolean;
  restartDebounce: number;
  webhookPort: number;
  webhookBindAddress: string;
  webhookSecret?: string;
  webhookTlsCert?: string;
  webhookTlsKey?: string;
  eventWindow: number;
  refreshEvents: boolean;
  azureEventgridTenant?: string;
  azureEventgridAudience?: string;
  shards: boolean;
  reconcileJournal?: string;
}>();
if (opts.leaderElect && !(opts.leaderElectRetryPeriod < opts.leaderElectRenewDeadline && opts.leaderElectRenewDeadline < opts.leaderElectLeaseDuration)) {
  program.error('leader election needs retry period < renew deadline < lease duration');
}

if (opts.shards) {
  if (!opts.leaderElect) program.error('--shards needs --leader-elect: the leader writes the assignment, on a Lease next to its own');
  if (opts.watchNamespace) program.error('--shards shares namespaces among the replicas: it cannot be used with --watch-namespace');
}

let storeHostPolicy;
try {
  storeHostPolicy = opts.denyStoreHosts ? parseHostPolicy(opts.denyStoreHosts) : undefined;
} catch (err) {
  program.error(`--deny-store-hosts: ${(err as Error).message}`);
}

if ((opts.webhookTlsCert === undefined) !== (opts.webhookTlsKey === undefined)) program.error('--webhook-tls-cert and --webhook-tls-key go together');
if ((opts.azureEventgridTenant === undefined) !== (opts.azureEventgridAudience === undefined)) program.error('--azure-eventgrid-tenant and --azure-eventgrid-audience go together');
if (opts.azureEventgridTenant && opts.webhookPort === 0) program.error('--azure-eventgrid-tenant needs --webhook-port');
const [webhookSecretNamespace, webhookSecretName] = (opts.webhookSecret ?? `${opts.namespace}/secretsync-webhook`).split('/');
if (!webhookSecretNamespace || !webhookSecretName) program.error('--webhook-secret: expected <namespace>/<name>');

const log = createLogger(opts.logLevel);
/** A start-up failure: one line (the logger's, so it lands where the rest does), no stack trace, exit 1. */
const failStart = (message: string, fields: Record<string, unknown> = {}): never => {
  log.fatal(fields, message);
  process.exit(1);
};
const kubeConfig = loadKubeConfig();
// Where the client points and how the heap was sized: the first things to
// check when a Pod cannot reach the API server or is OOM-killed. In a Pod the
// config is the in-cluster one (the projected token and KUBERNETES_SERVICE_HOST),
// and the heap limit follows the container's memory limit.
const MiB = 2 ** 20;
const memoryLimit = process.constrainedMemory();
log.info(
  {
    kubeConfig: kubeConfig.getCurrentCluster()?.name === 'inCluster' ? 'in-cluster' : 'kubeconfig',
    server: kubeConfig.getCurrentCluster()?.server,
    heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / MiB),
    memoryLimitMiB: memoryLimit > 0 && memoryLimit < totalmem() ? Math.round(memoryLimit / MiB) : undefined,
  },
  'starting',
);
const metrics = new Metrics();
metrics.enableProcessMetrics();
const operator = new Operator({
  kubeConfig,
  namespace: opts.namespace,
  watchNamespace: opts.watchNamespace,
  clusterSecretStores: opts.clusterSecretStores,
  storeHostPolicy,
  workers: opts.workers,
  sharedReadMaxAgeMs: opts.sharedReadMaxAge,
  providerTimeoutMs: opts.providerTimeout,
  providerOptions: { gcpsmTransport: opts.gcpsmTransport },
  slowCallMs: opts.slowCallAfter,
  log,
  metrics,
  leaderElection: opts.leaderElect
    ? {
        namespace: opts.namespace,
        name: opts.leaderElectId,
        // The Pod name when the Deployment passes it; unique per process either way.
        identity: `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`,
        leaseDurationMs: opts.leaderElectLeaseDuration,
        renewDeadlineMs: opts.leaderElectRenewDeadline,
        retryPeriodMs: opts.leaderElectRetryPeriod,
      }
    : undefined,
  sharding: opts.shards,
  reconcileJournal: opts.reconcileJournal ? new FileJournal(opts.reconcileJournal, `${process.env.POD_NAME ?? hostname()}:${process.pid}`) : undefined,
  rolloutRestart: opts.rolloutRestart ? { debounceMs: opts.restartDebounce } : undefined,
  leaderLabelPod: opts.webhookPort > 0 && opts.leaderElect ? process.env.POD_NAME : undefined,
  refreshEvents: opts.refreshEvents || opts.webhookPort > 0
    ? {
        windowMs: opts.eventWindow,
        webhook: opts.webhookPort === 0 ? undefined : {
          port: opts.webhookPort,
          bindAddress: opts.webhookBindAddress,
          keySecret: { namespace: webhookSecretNamespace!, name: webhookSecretName! },
          tls: opts.webhookTlsCert && opts.webhookTlsKey ? { certFile: opts.webhookTlsCert, keyFile: opts.webhookTlsKey } : undefined,
        },
        azureEventGrid: opts.azureEventgridTenant && opts.azureEventgridAudience
          ? { tenantId: opts.azureEventgridTenant, audience: opts.azureEventgridAudience, authorityHost: process.env.AZURE_AUTHORITY_HOST }
          : undefined,
      }
    : undefined,
  // Controller-runtime's rule: a leader that lost its Lease exits, and comes back as a follower.
  onLeadershipLost: () => {
    log.error(opts.shards ? 'exiting after losing the leader Lease or shard membership' : 'exiting after losing the leader Lease');
    process.exit(1);
  },
});

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    metrics.registry
      .metrics()
      .then((body) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body))
      .catch(() => res.writeHead(500).end());
    return;
  }
  if (req.url === '/healthz') return void res.writeHead(200).end('ok');
  if (req.url === '/readyz') return void res.writeHead(operator.isReady ? 200 : 503).end(operator.isReady ? 'ok' : 'starting');
  res.writeHead(404).end();
});
server.on('error', (err: NodeJS.ErrnoException) =>
  failStart(`--metrics-port ${opts.metricsPort}: cannot listen on ${opts.metricsBindAddress}:${opts.metricsPort}: ${err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message}`));
if (opts.metricsPort > 0) server.listen(opts.metricsPort, opts.metricsBindAddress);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) {
    // A second signal: the operator asked for it twice, so do not wait for the drain.
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    log.error({ timeoutMs: opts.shutdownTimeout }, 'shutdown took too long: exiting');
    process.exit(1);
  }, opts.shutdownTimeout);
  force.unref();
  operator
    .stop()
    .then(() => server.close())
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'shutdown failed');
      process.exit(1);
    });
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

operator.start().catch((err: unknown) => failStart(`operator failed to start: ${(err as Error).message}`));

/**
 * The kubeconfig as kubectl finds it (KUBECONFIG, ~/.kube/config, or the
 * in-cluster one); a file that cannot be read or parsed, or none at all, is
 * said in one line rather than an exception, or a silent fallback to
 * localhost:8080 that would retry forever.
 */
function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  const named = (process.env.KUBECONFIG ?? '').split(':').filter(Boolean);
  for (const file of named) if (!existsSync(file)) failStart(`cannot read the kubeconfig: KUBECONFIG names ${file}, which does not exist`);
  try {
    kc.loadFromDefault();
  } catch (err) {
    failStart(`cannot read the kubeconfig (${named.join(':') || '~/.kube/config'}): ${(err as Error).message.split('\n')[0]}`);
  }
  const inCluster = process.env.KUBERNETES_SERVICE_HOST !== undefined;
  if (named.length === 0 && !inCluster && !existsSync(join(homedir(), '.kube', 'config'))) {
    failStart('no kubeconfig: KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a Pod (KUBERNETES_SERVICE_HOST is not set)');
  }
  if (!kc.getCurrentCluster()) failStart(`the kubeconfig's current context "${kc.getCurrentContext()}" names no cluster`);
  return kc;
}
