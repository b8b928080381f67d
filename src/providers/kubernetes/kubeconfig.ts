// A kubeconfig from a store's authRef Secret, read strictly: its current
// context's server, CA, and a token or client certificate given inline. A
// kubeconfig is tenant input here, so what would make the operator run a
// command (exec, auth-provider), read one of its own files (tokenFile,
// client-certificate, certificate-authority), skip TLS checks or act as
// someone else (as) is refused with the field named.
import { parse } from 'yaml';
import { StoreConfigError } from '../errors.js';

export interface KubeconfigAccess {
  server: string;
  ca?: string;
  token?: string;
  cert?: string;
  key?: string;
}

type Named<T> = Array<{ name?: string } & T>;
interface Kubeconfig {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>;
  clusters?: Named<{ cluster?: Record<string, unknown> }>;
  users?: Named<{ user?: Record<string, unknown> }>;
}

const REFUSED_USER_FIELDS: Record<string, string> = {
  exec: 'runs a command',
  'auth-provider': 'runs an auth plugin',
  tokenFile: 'reads a file of the operator',
  'client-certificate': 'reads a file of the operator (give client-certificate-data)',
  'client-key': 'reads a file of the operator (give client-key-data)',
  as: 'impersonates another user',
  'as-groups': 'impersonates other groups',
  username: 'uses basic auth, which Kubernetes no longer serves',
};
const REFUSED_CLUSTER_FIELDS: Record<string, string> = {
  'certificate-authority': 'reads a file of the operator (give certificate-authority-data)',
  'insecure-skip-tls-verify': 'turns off certificate checks',
  'proxy-url': 'sends requests through a proxy',
};

const pem = (base64: unknown) => (typeof base64 === 'string' && base64 ? Buffer.from(base64, 'base64').toString('utf8') : undefined);

export function parseKubeconfig(text: string, what: string): KubeconfigAccess {
  let config: Kubeconfig;
  try {
    config = parse(text) as Kubeconfig;
  } catch {
    throw new StoreConfigError(`${what} is not a kubeconfig (not YAML)`);
  }
  const contextName = config?.['current-context'];
  const context = config?.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new StoreConfigError(`${what}: the kubeconfig has no current-context, or no context by that name`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  if (!cluster || typeof cluster.server !== 'string') throw new StoreConfigError(`${what}: the current context's cluster has no server`);
  for (const [field, why] of Object.entries(REFUSED_CLUSTER_FIELDS)) {
    if (cluster[field] !== undefined && cluster[field] !== false) throw new StoreConfigError(`${what}: the kubeconfig's cluster sets ${field}, which ${why}: refused`);
  }
  for (const [field, why] of Object.entries(REFUSED_USER_FIELDS)) {
    if (user[field] !== undefined) throw new StoreConfigError(`${what}: the kubeconfig's user sets ${field}, which ${why}: refused`);
  }
  const access: KubeconfigAccess = {
    server: cluster.server,
    ca: pem(cluster['certificate-authority-data']),
    token: typeof user.token === 'string' && user.token ? user.token : undefined,
    cert: pem(user['client-certificate-data']),
    key: pem(user['client-key-data']),
  };
  if (!access.token && !(access.cert && access.key)) throw new StoreConfigError(`${what}: the kubeconfig's user has neither a token nor client-certificate-data with client-key-data`);
  return access;
}
