// Keys that Kubernetes' typed Secrets require.
const REQUIRED: Record<string, { all?: string[]; anyOf?: string[] }> = {
  'kubernetes.io/tls': { all: ['tls.crt', 'tls.key'] },
  'kubernetes.io/dockerconfigjson': { all: ['.dockerconfigjson'] },
  'kubernetes.io/dockercfg': { all: ['.dockercfg'] },
  'kubernetes.io/basic-auth': { anyOf: ['username', 'password'] },
  'kubernetes.io/ssh-auth': { all: ['ssh-privatekey'] },
};

/** A readable problem when data lacks what its type requires, else undefined. */
export function missingTypedKeys(type: string, keys: string[]): string | undefined {
  const rule = REQUIRED[type];
  if (!rule) return undefined;
  const have = new Set(keys);
  const missing = (rule.all ?? []).filter((k) => !have.has(k));
  if (missing.length > 0) return `a ${type} Secret needs key${missing.length > 1 ? 's' : ''} ${missing.map((k) => `"${k}"`).join(', ')}`;
  if (rule.anyOf && !rule.anyOf.some((k) => have.has(k))) return `a ${type} Secret needs at least one of ${rule.anyOf.map((k) => `"${k}"`).join(', ')}`;
  return undefined;
}
