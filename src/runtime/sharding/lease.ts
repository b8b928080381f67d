// The Lease object (coordination.k8s.io/v1), as the sharding reads and writes it.
import type { KubeObject } from '../../kube/types.js';

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
