// The provider interface. A provider turns a store spec into a client; a
// client reads remote secrets. Everything is read-only for now.
import type { AnyStore, FindRef, RemoteRef } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';

/** What a provider says about one value it returned. */
export interface SourceInfo {
  key: string;
  version?: string;
  /** The value stops working at this time (lease end, expiry date). */
  expiresAt?: Date;
  /** A new value is expected at this time (scheduled rotation). */
  rotatesAt?: Date;
}

export interface RemoteValue {
  value: Uint8Array;
  source: SourceInfo;
}

export interface RemoteValues {
  values: Record<string, Uint8Array>;
  sources: SourceInfo[];
}

/** Who a read is for (an ExternalSecret key), for providers that keep per-reader state such as leases. */
export interface ReadContext {
  consumer: string;
}

export interface ProviderClient {
  /** One value; `ref.property` picks a field of a JSON value. */
  getSecret(ref: RemoteRef, ctx?: ReadContext): Promise<RemoteValue>;
  /** A JSON object (or the value at `ref.property`) as a map of keys. */
  getSecretMap(ref: RemoteRef, ctx?: ReadContext): Promise<RemoteValues>;
  /** Several values in as few calls as the provider allows (optional). */
  getSecrets?(refs: RemoteRef[]): Promise<Array<RemoteValue | Error>>;
  /** Every secret matching a path, name pattern or tags. */
  findSecrets?(find: FindRef): Promise<RemoteValues>;
  /** Checks the client can reach the provider with its credentials. */
  validate(): Promise<void>;
  /** False when a read must not be shared between readers (it issues per-reader credentials). */
  isShareable?(ref: RemoteRef): boolean;
  /** The reader is gone: give back what it held (revoke leases). */
  release?(consumer: string): Promise<void>;
  close(): Promise<void>;
}

export interface ClientContext {
  store: AnyStore;
  /** The namespace credentials are read from (the store's own, for a SecretStore). */
  namespace: string;
  kube: KubeClient;
  signal?: AbortSignal;
}

export interface Provider {
  readonly name: string;
  readonly capabilities: 'ReadOnly' | 'ReadWrite';
  /** Static checks of the store spec; returns problems, empty when valid. */
  validateStore(store: AnyStore): string[];
  newClient(ctx: ClientContext): Promise<ProviderClient>;
}
