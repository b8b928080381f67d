// The mounting Pod's own identity for stores that authenticate as a
// ServiceAccount: a KubeClient whose TokenRequest answers with the token the
// driver passed for the Pod (the CSIDriver's tokenRequests, by audience)
// instead of minting one. Everything else is the plugin's own client, whose
// reads the store's namespace rule already confines to the Pod's namespace.
import type { KubeClient } from '../kube/client.js';
import { StoreConfigError } from '../providers/errors.js';
import type { PodToken } from './attributes.js';

export function podIdentityKube(kube: KubeClient, pod: { namespace: string; serviceAccount: string }, tokens: Record<string, PodToken>): KubeClient {
  const createToken = (namespace: string, serviceAccount: string, audiences: string[]): Promise<{ token: string; expiresAt: Date }> => {
    const audience = audiences[0] ?? '';
    const given = tokens[audience];
    if (!given) {
      const have = Object.keys(tokens);
      return Promise.reject(new StoreConfigError(`the store authenticates as a ServiceAccount with audience "${audience}", and the driver passed the Pod's token for ${have.length ? `audiences ${JSON.stringify(have)} only` : 'no audience'}: add { audience: "${audience}" } to the CSIDriver's tokenRequests`));
    }
    if (namespace !== pod.namespace || serviceAccount !== pod.serviceAccount) {
      // The token is the Pod's whatever the store names: say so rather than pretend to be the named account.
      return Promise.reject(new StoreConfigError(`the store names ServiceAccount "${namespace}/${serviceAccount}", and the Pod runs as "${pod.namespace}/${pod.serviceAccount}": a mount authenticates as the Pod; name the Pod's ServiceAccount in the store`));
    }
    return Promise.resolve({ token: given.token, expiresAt: new Date(given.expirationTimestamp) });
  };
  return new Proxy(kube, {
    get(target, prop, receiver) {
      if (prop === 'createToken') return createToken;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
