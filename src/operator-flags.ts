// The operator's flags (`secretsync run --help`), in one place: the operator
// reads them, and docs/operations.md's flags table is generated from their
// help. A default is shown as the flag takes it (`30s`, not the 30000 it
// parses to), and one that comes from the environment says so, so the table
// is the same wherever it is generated and every value in it is accepted
// when passed back (test/unit/operator-flags.test.ts).
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from './util/duration.js';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};
const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
};
const duration = (v: string) => {
  try {
    return parseDuration(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

/** A duration flag whose default shows as written (`30s`) and is parsed like any value given. */
function durationOption(flags: string, description: string, fallback: string): Option {
  return new Option(flags, description).argParser(duration).default(duration(fallback), fallback);
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];
const logLevel = (v: string) => {
  if (!LOG_LEVELS.includes(v)) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return v;
};

export function operatorProgram(): Command {
  return new Command()
    .name('secretsync run')
    .description('Runs the operator: keeps Kubernetes Secrets in sync with external vaults. (`secretsync help` lists the other commands.)')
    .addOption(new Option('--namespace <ns>', "the operator's own namespace").default(process.env.POD_NAMESPACE ?? 'secretsync-system', '$POD_NAMESPACE, else secretsync-system'))
    .option('--watch-namespace <ns>', 'only reconcile ExternalSecrets and SecretStores in this namespace')
    .option('--workers <n>', 'concurrent ExternalSecret reconciles', positiveInt, 16)
    .addOption(durationOption('--shared-read-max-age <duration>', 'how long one provider read may serve other ExternalSecrets', '30s'))
    .addOption(durationOption('--provider-timeout <duration>', 'deadline of one provider call; a provider that has not answered by then fails with ProviderTimeout', '30s'))
    .addOption(new Option('--gcpsm-transport <transport>', 'how gcpsm stores reach Secret Manager: grpc (the official client) or rest (its REST API over HTTP/1.1, without the gRPC stack: about 15 MiB less memory once a gcpsm store is used)').choices(['grpc', 'rest']).default('grpc'))
    .addOption(durationOption('--slow-call-after <duration>', 'a sync waiting on its store\'s calls this long gives its worker back; a store with spec.slowCalls.maxWaiting (default --workers) such syncs is held back (StoreHeldBack: the rest wait their turn, and it holds at most a quarter of the workers) until a call answers within it', '500ms'))
    .option('--metrics-port <port>', 'port for /metrics, /healthz and /readyz (0 to disable)', port, 8080)
    .option('--metrics-bind-address <address>', 'address for the metrics server', '0.0.0.0')
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn or error').argParser(logLevel).default(process.env.LOG_LEVEL ?? 'info', '$LOG_LEVEL, else info'))
    .option('--leader-elect', 'reconcile only while holding a Lease in --namespace (run several replicas)', false)
    .option('--leader-elect-id <name>', 'name of the leader Lease', 'secretsync-leader')
    .addOption(durationOption('--leader-elect-lease-duration <duration>', 'how long followers wait for a silent leader before taking over', '15s'))
    .addOption(durationOption('--leader-elect-renew-deadline <duration>', 'how long a leader keeps trying to renew before it gives up (and exits)', '10s'))
    .addOption(durationOption('--leader-elect-retry-period <duration>', 'how often candidates try and the leader renews', '2s'))
    .option('--shards', 'share the ExternalSecrets among the replicas (with --leader-elect): each holds some of the namespaces and caches only theirs; a replica that joins or leaves moves about 1/N of them (docs/operations.md#sharding)', false)
    .option('--reconcile-journal <file>', 'a diagnostic: append a line for each reconcile\'s start and end (wall-clock microseconds, replica, controller, key) to this file')
    .option('--no-cluster-secret-stores', 'read no cluster-wide objects (ClusterSecretStores, Namespaces): for a namespace-scoped install with --watch-namespace')
    .option('--deny-store-hosts <ranges>', 'address ranges namespaced SecretStores and generators may not point the operator at: CIDRs and loopback, link-local, metadata, private, unspecified (the Deployment adds loopback); "" allows all', 'link-local,metadata,unspecified')
    .addOption(durationOption('--shutdown-timeout <duration>', 'how long SIGTERM waits for reconciles in flight before exiting anyway', '20s'))
    .option('--rollout-restart', 'restart the workloads that use a Secret when its data changes (spec.target.rolloutRestart, and workloads annotated secretsync.dev/restart-on-change); needs RBAC to list and patch them', false)
    .addOption(durationOption('--restart-debounce <duration>', 'how long changes are collected before restarting, so Secrets that change together restart a workload once', '5s'))
    .option('--webhook-port <port>', 'port of the signed refresh webhook, POST /hooks/refresh (0: off)', port, 0)
    .option('--webhook-bind-address <address>', 'address for the refresh webhook', '0.0.0.0')
    .option('--webhook-secret <namespace/name>', 'the Secret whose "key" signs refresh webhook requests (HMAC-SHA256); default <--namespace>/secretsync-webhook')
    .option('--webhook-tls-cert <file>', 'serve the refresh webhook over TLS with this certificate (PEM), with --webhook-tls-key')
    .option('--webhook-tls-key <file>', 'the private key for --webhook-tls-cert (PEM)')
    .option('--azure-eventgrid-tenant <tenant>', 'take Azure Event Grid deliveries on the webhook port (POST /hooks/azure-eventgrid) with Entra tokens of this tenant; with --azure-eventgrid-audience')
    .option('--azure-eventgrid-audience <audience>', 'the audience (app id or application id URI) Event Grid requests its Entra tokens for')
    .option('--refresh-events', 'refresh on provider change events: from the SQS queue an AWS store names (spec.provider.aws.events), the Pub/Sub subscription a Google store names (spec.provider.gcpsm.events), a watch of the remoteNamespace of each kubernetes store (where its credentials may watch), and the webhook when --webhook-port is set', false)
    .addOption(durationOption('--event-window <duration>', 'how long provider change events are collected before the refresh (one refresh per remote key per window)', '500ms'));
}
