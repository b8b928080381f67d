// The `gcpsm` provider: Google Secret Manager, global or regional secrets,
// over gRPC through @google-cloud/secret-manager (the default) or over its
// REST API (--gcpsm-transport rest: leaner, see rest-transport.ts). Each
// transport's modules load only when a store uses it.
import type { Provider } from '../provider.js';
import type { SecretManagerApi } from './api.js';
import { GcpSmClient } from './client.js';
import { CLOUD_PLATFORM, storeAuth, workloadAudiences } from './credentials.js';

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
  async newClient({ store, namespace, kube, connectGuard, options }) {
    const spec = store.spec.provider.gcpsm!;
    const authClient = await storeAuth(spec, kube, namespace);
    const endpoint = endpointOf(spec.endpoint, spec.location);
    let sm: SecretManagerApi;
    if (options?.gcpsmTransport === 'rest') {
      const [{ SecretManagerRest }, { GoogleAuth }] = await Promise.all([import('./rest-transport.js'), import('google-auth-library')]);
      let auth = authClient;
      if (!auth) {
        // Application Default Credentials as the official client sets them up: a service account key signs its own tokens (no token endpoint call).
        const adc = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
        adc.useJWTAccessWithScope = true;
        adc.defaultServicePath = 'secretmanager.googleapis.com';
        auth = await adc.getClient();
      }
      sm = new SecretManagerRest({ apiEndpoint: endpoint.apiEndpoint ?? 'secretmanager.googleapis.com', port: endpoint.port ?? 443, auth, guard: connectGuard });
    } else {
      const { grpcSecretManager } = await import('./grpc-transport.js');
      sm = grpcSecretManager({ ...endpoint, projectId: spec.projectID, authClient, guard: connectGuard });
    }
    const parent = spec.location ? `projects/${spec.projectID}/locations/${spec.location}` : `projects/${spec.projectID}`;
    return new GcpSmClient(sm, parent);
  },
};
