// The per-installation HMAC key for Secret data hashes, kept in a Secret in
// the operator's namespace and created on first start.
import { randomBytes } from 'node:crypto';
import { PART_OF_LABEL } from './api/names.js';
import { isConflict, type KubeClient } from './kube/client.js';
import { Resources, type Secret } from './kube/types.js';

export const HMAC_KEY_SECRET = 'secretsync-hmac-key';

export async function loadInstallationKey(kube: KubeClient, namespace: string): Promise<Uint8Array> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await kube.getOrUndefined<Secret>(Resources.Secret, namespace, HMAC_KEY_SECRET);
    const key = existing?.data?.key;
    if (key) return Buffer.from(key, 'base64');
    try {
      await kube.create<Secret>(Resources.Secret, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: HMAC_KEY_SECRET, namespace, labels: { [PART_OF_LABEL]: 'secretsync' } },
        type: 'Opaque',
        data: { key: randomBytes(32).toString('base64') },
      });
    } catch (err) {
      // Another replica created it first: read theirs.
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error(`could not load or create Secret ${namespace}/${HMAC_KEY_SECRET}`);
}
