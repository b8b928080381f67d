// An ExternalSecret as Events name it (the cache's objects carry no kind).
import type { ExternalSecret } from '../../api/types.js';
import { API_VERSION } from '../../kube/types.js';

export function withKind(es: ExternalSecret): ExternalSecret {
  return { ...es, apiVersion: API_VERSION, kind: 'ExternalSecret' };
}
