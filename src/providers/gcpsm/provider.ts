// The `gcpsm` provider: Google Secret Manager through
// @google-cloud/secret-manager (gRPC), global or regional secrets.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { Provider } from '../provider.js';
import { MAX_RESPONSE_BYTES } from '../response-limit.js';
import { GcpSmClient } from './client.js';
import { guardedChannel } from './guarded-resolver.js';
import { storeAuth, workloadAudiences } from './credentials.js';

/** host[:port] → the SDK's apiEndpoint and port. */
export function endpointOf(endpoint: string | undefined, location: string | undefined): { apiEndpoint?: string; port?: number } {
  if (endpoint) {
    const [host, port] = endpoint.split(':');
    return { apiEndpoint: host, port: port ? Number(port) : 443 };
  }
  return location ? { apiEndpoint: `secretmanager.${location}.rep.googleapis.com`, port: 443 } : {};
}

export const gcpsmProvider: Provider = {
  name: 'gcpsm',
  capabilities: 'ReadWrite',
  validateStore(store) {
    const spec = store.spec.provider.gcpsm!;
    const wi = spec.auth?.workloadIdentity;
    if (!wi) return [];
    // The same rule that builds the audiences, so the check and the use cannot disagree.
    try {
      workloadAudiences(spec, wi);
      return [];
    } catch (err) {
      return [(err as Error).message];
    }
  },
  async newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.gcpsm!;
    const authClient = await storeAuth(spec, kube, namespace);
    const sm = new SecretManagerServiceClient({
      ...endpointOf(spec.endpoint, spec.location),
      projectId: spec.projectID,
      ...(authClient ? { authClient } : {}),
      // gRPC refuses a larger message from its length prefix, before buffering it.
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      // A namespaced store's channel connects only to addresses the guard allows (its auth's endpoints are Google's or the operator's, not the store's to choose).
      ...(connectGuard ? guardedChannel(connectGuard) : {}),
    });
    const parent = spec.location ? `projects/${spec.projectID}/locations/${spec.location}` : `projects/${spec.projectID}`;
    return new GcpSmClient(sm, parent);
  },
};
