// A Vault key as External Secrets Operator reads it, written the way
// secretsync reads it. ESO joins the store's `path` and the key and drops a
// repeated mount (`secret/foo` with path `secret`); without a path the key's
// first segment is the mount. secretsync reads keys relative to the store's
// mount (default `secret`), and a key that starts with "/" is an absolute API
// path there, where ESO reads `/dev/config` as the KV secret `dev/config`.
import type { StoreInfo } from './context.js';

const DEFAULT_MOUNT = 'secret';

export function normaliseVaultKey(key: string, store: StoreInfo): { key: string; why: string } | { error: string } {
  const v2 = (store.vaultVersion ?? 'v2') === 'v2';
  let rest = key.replace(/^\/+/, '');
  if (store.vaultPath !== undefined) {
    const mount = store.vaultPath.replace(/^\/+|\/+$/g, '');
    if (rest.startsWith(`${mount}/`)) {
      rest = rest.slice(mount.length + 1);
      if (v2 && rest.startsWith('data/')) rest = rest.slice('data/'.length);
    }
    rest = rest.replace(/^\/+/, '');
    return { key: rest, why: `ESO reads it as the KV secret "${rest}" under the store's path "${mount}"` };
  }
  // No path: the first segment is the mount, and v2 keys may spell out data/.
  const [mount, ...segments] = rest.split('/');
  let path = segments.join('/');
  if (v2 && path.startsWith('data/')) path = path.slice('data/'.length);
  if (mount !== DEFAULT_MOUNT || path === '') {
    return { error: `the store has no path, so ESO reads "${key}" from the mount "${mount}"; secretsync reads keys under one mount per store (path, default secret): set path: ${mount} on the store and write the key without it, then migrate again` };
  }
  return { key: path, why: `ESO reads it as the KV secret "${path}" in the mount "${DEFAULT_MOUNT}", which is the store's mount in secretsync` };
}
