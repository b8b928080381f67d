// Turns fetched values into the Secret's shape: type, data, labels and
// annotations, as `target.template` says.
import type { ExternalSecret } from '../../api/types.js';
import type { ShapedSecret } from './desired-secret.js';

export interface ShapeContext {
  /** Reads a ConfigMap or Secret in the ExternalSecret's own namespace (templateFrom). */
  readSource?: (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, Uint8Array>>;
}

export function shapeSecret(es: ExternalSecret, data: Record<string, Uint8Array>, _ctx: ShapeContext = {}): Promise<ShapedSecret> {
  const template = es.spec.target?.template;
  return Promise.resolve({
    type: template?.type ?? 'Opaque',
    data,
    labels: { ...(template?.metadata?.labels ?? {}) },
    annotations: { ...(template?.metadata?.annotations ?? {}) },
  });
}
