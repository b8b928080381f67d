// `secretsync csi-provider`: the Secrets Store CSI driver's provider plugin,
// run by the chart's DaemonSet on every node (csi.enabled). It serves the
// driver's CSIDriverProvider API on a unix socket in the driver's providers
// directory and mounts ExternalSecrets as files (src/csi/), with the
// operator's stores, rules and provider code, and writes nothing to the API
// server. Its own chunk: the operator does not load it.
import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import { Mounter } from './csi/mount.js';
import { servePlugin } from './csi/server.js';
import { KubeClient } from './kube/client.js';
import { createLogger } from './runtime/log.js';
import { Metrics } from './runtime/metrics.js';
import { parseDuration } from './util/duration.js';

const opts = new Command()
  .name('secretsync csi-provider')
  .description('The Secrets Store CSI driver provider plugin: mounts ExternalSecrets as files, with nothing written to the API server.')
  .option('--socket <path>', 'the unix socket the driver calls (in its providers directory)', '/etc/kubernetes/secrets-store-csi-providers/secretsync.sock')
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
  .option('--provider-timeout <duration>', 'deadline of one provider call', '20s')
  .option('--mount-timeout <duration>', 'deadline of one mount (the driver gives up after its own, 2m by default)', '60s')
  .option('--reuse-reads <duration>', 'a provider answer this recent is shared with other mounts of the same key on this node (0: every mount reads)', '30s')
  .option('--reread-credentials <duration>', 'how often a store\'s credential Secrets are read again (a rotated credential is used from then on)', '5m')
  .parse(process.argv.filter((a) => a !== 'csi-provider'))
  .opts<{ socket: string; logLevel: string; providerTimeout: string; mountTimeout: string; reuseReads: string; rereadCredentials: string }>();

const log = createLogger(opts.logLevel);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const mounter = new Mounter({
  kube: new KubeClient(kubeConfig),
  metrics: new Metrics(),
  log,
  callTimeoutMs: parseDuration(opts.providerTimeout),
  reuseReadsMs: parseDuration(opts.reuseReads),
  rereadCredentialsMs: parseDuration(opts.rereadCredentials),
});
const server = await servePlugin(opts.socket, mounter, log, parseDuration(opts.mountTimeout));
const stop = () => {
  log.info('stopping');
  void server.close().then(() => mounter.close()).then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
