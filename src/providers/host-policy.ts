// Which hosts a namespaced SecretStore may point the operator at. A
// SecretStore is tenant-controlled, so its server/vaultUrl/endpoint could aim
// the operator (and its network position) at a cloud metadata service, the
// API server or an internal service: server-side request forgery. The policy
// resolves each endpoint and refuses addresses in the denied ranges before a
// client is made. ClusterSecretStores are admin-owned and exempt.
//
// Resolution happens here when the store's client is made (store validation
// and every spec or credential change), and again on every connection the
// client makes (connect-guard.ts), so a name that re-resolves elsewhere later
// is refused too.
import { lookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { AnyStore } from '../api/types.js';
import { StoreConfigError } from './errors.js';
import { isOwnCluster, serverUrl } from './kubernetes/server.js';

/** Resolves a name to its addresses (dns.lookup with all: true; tests give their own). */
export type Resolve = (host: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (host) =>
  new Promise((resolve, reject) => lookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** Named ranges a policy can list besides CIDRs. */
export const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  'link-local': ['169.254.0.0/16', 'fe80::/10'],
  // Cloud metadata services outside the link-local range (AWS's IPv6 IMDS).
  metadata: ['fd00:ec2::254/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '100.64.0.0/10'],
  unspecified: ['0.0.0.0/32', '::/128'],
};

export interface HostPolicy {
  /** The denied entries as given (named ranges and CIDRs), for messages. */
  denied: string[];
  /** Why this address is refused, or undefined. */
  refuses(address: string): string | undefined;
}

/** `link-local,metadata,10.0.0.0/8,...` into a policy; throws on an entry it cannot read. */
export function parseHostPolicy(spec: string): HostPolicy {
  const entries = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const ranges: Array<{ name: string; list: BlockList }> = [];
  for (const entry of entries) {
    const cidrs = NAMED_RANGES[entry] ?? [entry];
    const list = new BlockList();
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/');
      const family = isIP(address ?? '');
      if (!family) throw new Error(`"${entry}" is neither a named range (${Object.keys(NAMED_RANGES).join(', ')}) nor a CIDR`);
      const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`"${cidr}" has an invalid prefix length`);
      list.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
    ranges.push({ name: entry, list });
  }
  return {
    denied: entries,
    refuses(address) {
      // An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is its IPv4 address.
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
      const ip = mapped ?? address;
      const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
      return ranges.find((r) => r.list.check(ip, family))?.name;
    },
  };
}

/** The provider endpoints a store spec names, with where they are in the spec. */
export function storeEndpoints(store: AnyStore): Array<{ path: string; host: string }> {
  const p = store.spec.provider;
  const urls: Array<[string, string | undefined]> = [
    ['spec.provider.vault.server', p.vault?.server],
    ['spec.provider.aws.endpoint', p.aws?.endpoint],
    ['spec.provider.azurekv.vaultUrl', p.azurekv?.vaultUrl],
    ['spec.provider.gcpsm.endpoint', p.gcpsm?.endpoint ? `https://${p.gcpsm.endpoint}` : undefined],
    ['spec.provider.conjur.url', p.conjur?.url],
    // The operator's own cluster is read with the store's credentials, which reach it anyway: not a forgery.
    ['spec.provider.kubernetes.server.url', p.kubernetes?.server?.url && !isOwnCluster(p.kubernetes.server.url) ? serverUrl(p.kubernetes.server.url) : undefined],
    // A URL whose host is templated is checked on every connection instead (connect-guard.ts), after templating.
    ['spec.provider.webhook.url', p.webhook && !hostIsTemplated(p.webhook.url) ? p.webhook.url : undefined],
  ];
  const out: Array<{ path: string; host: string }> = [];
  for (const [path, url] of urls) {
    if (!url) continue;
    let host: string;
    try {
      host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    } catch {
      throw new StoreConfigError(`${path} is not a URL`);
    }
    out.push({ path, host });
  }
  return out;
}

/** Whether a URL template's host is itself templated: then only the connect-time guard can check it (after templating). */
export function hostIsTemplated(url: string): boolean {
  return /^[^/]*\/\/[^/]*\{[{%]/.test(url);
}

/** Throws StoreConfigError when a namespaced store's endpoint resolves into a denied range. */
export async function checkStoreHosts(store: AnyStore, policy: HostPolicy | undefined, resolve: Resolve = systemResolve): Promise<void> {
  if (!policy || !store.metadata.namespace) return;
  await checkHosts(storeEndpoints(store), policy, 'namespaced SecretStores may not use', 'use a ClusterSecretStore or ask the platform team', resolve);
}

/** The same policy for a generator (namespaced, so tenant-controlled): its endpoints by path, as URLs. */
export async function checkGeneratorHosts(endpoints: Array<{ path: string; url: string }>, policy: HostPolicy | undefined, resolve: Resolve = systemResolve): Promise<void> {
  if (!policy) return;
  const hosts = endpoints.map(({ path, url }) => {
    try {
      return { path, host: new URL(url).hostname.replace(/^\[|\]$/g, '') };
    } catch {
      throw new StoreConfigError(`${path} is not a URL`);
    }
  });
  await checkHosts(hosts, policy, 'generators may not use', 'ask the platform team', resolve);
}

async function checkHosts(endpoints: Array<{ path: string; host: string }>, policy: HostPolicy, refused: string, advice: string, resolve: Resolve): Promise<void> {
  for (const { path, host } of endpoints) {
    const addresses = isIP(host) ? [host] : (await resolve(host).catch((err: unknown) => {
      throw new StoreConfigError(`${path}: cannot resolve "${host}": ${(err as Error).message}`);
    })).map((a) => a.address);
    for (const address of addresses) {
      const range = policy.refuses(address);
      if (range) {
        throw new StoreConfigError(`${path} points at ${host === address ? address : `${host} (${address})`}, in the ${range} range, which ${refused} (operator flag --deny-store-hosts ${policy.denied.join(',')}); ${advice}`);
      }
    }
  }
}
