// Which API server a kubernetes store reads. Without server.url, or with one
// of the names Pods use for their own cluster's API (kubernetes.default and
// its longer forms, External Secrets Operator's default), it is the
// operator's own cluster: its address and CA, never its credentials.
const OWN_CLUSTER_HOSTS = new Set(['kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local']);

/** A server.url as a URL: a bare host[:port] means https. */
export function serverUrl(url: string): string {
  return /^https?:\/\//.test(url) ? url : `https://${url}`;
}

/** Whether server.url (undefined: omitted) names the operator's own cluster. */
export function isOwnCluster(url: string | undefined): boolean {
  if (!url) return true;
  try {
    const parsed = new URL(serverUrl(url));
    return OWN_CLUSTER_HOSTS.has(parsed.hostname) && (parsed.port === '' || parsed.port === '443') && (parsed.pathname === '/' || parsed.pathname === '');
  } catch {
    return false;
  }
}
