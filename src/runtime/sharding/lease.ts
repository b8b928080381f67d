// The Lease object (coordination.k8s.io/v1), as the sharding reads and writes it.
import type { KubeClient } from '../../kube/client.js';
import { Resources, type KubeObject } from '../../kube/types.js';

export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

/**
 * Writes a Lease that carries only annotations (the ring's assignment and
 * change Leases): created when `current` is undefined, else replaced on the
 * condition that it is still `current` (409 Conflict otherwise).
 */
export function writeAnnotatedLease(kube: KubeClient, at: { namespace: string; name: string; labels?: Record<string, string> }, annotations: Record<string, string>, current: Lease | undefined): Promise<Lease> {
  const body: Lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...at, annotations, ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}) },
    spec: {},
  };
  return kube.request<Lease>(current ? 'PUT' : 'POST', kube.path(Resources.Lease, at.namespace, current ? at.name : undefined), { body });
}
