// How a kubernetes store reaches its API server, and as whom: always with
// the store's own credentials (a ServiceAccount token minted for it, a
// bearer token or client certificate from Secrets, or a kubeconfig), never
// the operator's. Only the address and CA of the operator's own cluster are
// taken from the operator, when the store names no other server.
import { readFileSync } from 'node:fs';
import type { AnyStore } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { storeCaPem } from '../ca-bundle.js';
import { readSecretKey, refNamespace, serviceAccountToken } from '../credentials.js';
import { StoreConfigError } from '../errors.js';
import { parseKubeconfig } from './kubeconfig.js';
import { isOwnCluster, serverUrl } from './server.js';

export type KubernetesSpec = NonNullable<AnyStore['spec']['provider']['kubernetes']>;

export interface Connection {
  server: string;
  ca?: string;
  /** The operator's own cluster: exempt from the host guard (the store's credentials reach it anyway). */
  ownCluster: boolean;
  /** The current bearer token, when the store uses one (minted tokens are renewed before they expire). */
  token?: () => Promise<string>;
  cert?: string;
  key?: string;
}

/** Renew a minted token when this share of its life has passed. */
const RENEW_AT = 0.8;
const SPEC = 'spec.provider.kubernetes';

/** The operator's own cluster: its API address and CA, nothing of its credentials. */
function ownCluster(kube: KubeClient): { server: string; ca?: string } {
  const cluster = kube.config.getCurrentCluster();
  if (!cluster) throw new StoreConfigError(`${SPEC}.server.url is needed: the operator's kubeconfig names no cluster`);
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined;
  return { server: cluster.server, ca };
}

export async function connect(spec: KubernetesSpec, kube: KubeClient, namespace: string): Promise<Connection> {
  if (spec.authRef) {
    const text = await readSecretKey(kube, namespace, spec.authRef, `${SPEC}.authRef`);
    const access = parseKubeconfig(text, `${SPEC}.authRef`);
    const token = access.token;
    return { server: access.server, ca: access.ca, ownCluster: false, token: token ? () => Promise.resolve(token) : undefined, cert: access.cert, key: access.key };
  }
  const own = isOwnCluster(spec.server?.url);
  const base = own ? ownCluster(kube) : { server: serverUrl(spec.server!.url!), ca: undefined };
  const ca = (spec.server ? await storeCaPem(kube, namespace, spec.server, `${SPEC}.server`) : undefined) ?? base.ca;
  const auth = spec.auth!;
  if (auth.token) {
    const bearer = auth.token.bearerToken;
    return { server: base.server, ca, ownCluster: own, token: async () => (await readSecretKey(kube, namespace, bearer, `${SPEC}.auth.token.bearerToken`)).trim() };
  }
  if (auth.cert) {
    const cert = await readSecretKey(kube, namespace, auth.cert.clientCert, `${SPEC}.auth.cert.clientCert`);
    const key = await readSecretKey(kube, namespace, auth.cert.clientKey, `${SPEC}.auth.cert.clientKey`);
    return { server: base.server, ca, ownCluster: own, cert, key };
  }
  return { server: base.server, ca, ownCluster: own, token: mintedToken(kube, namespace, auth.serviceAccount!, own) };
}

/**
 * A ServiceAccount token from TokenRequest, renewed before it expires. For
 * the operator's own cluster its audience is the API server's own; a token
 * for another server must name the audiences that server accepts, and
 * those are checked to be ones this API server refuses (credentials.ts), so
 * the other server's owner cannot use it here.
 */
function mintedToken(kube: KubeClient, namespace: string, ref: NonNullable<KubernetesSpec['auth']>['serviceAccount'] & object, own: boolean): () => Promise<string> {
  const what = `${SPEC}.auth.serviceAccount`;
  let current: { token: string; renewAt: number } | undefined;
  return async () => {
    if (current && Date.now() < current.renewAt) return current.token;
    let minted: { token: string; expiresAt: Date };
    if (own) {
      const saNamespace = refNamespace(namespace, ref, what);
      try {
        minted = await kube.createToken(saNamespace, ref.name, ref.audiences ?? []);
      } catch (err) {
        throw new StoreConfigError(`${what}: could not get a token for ServiceAccount "${saNamespace}/${ref.name}": ${(err as Error).message}`);
      }
    } else {
      if (!ref.audiences?.length) throw new StoreConfigError(`${what}: a token for another cluster's server needs audiences (ones that server accepts and this cluster's API server does not)`);
      minted = await serviceAccountToken(kube, namespace, ref, ref.audiences, what);
    }
    const now = Date.now();
    current = { token: minted.token, renewAt: now + (minted.expiresAt.getTime() - now) * RENEW_AT };
    return minted.token;
  };
}
