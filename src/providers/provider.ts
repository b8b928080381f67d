// The provider interface. A provider turns a store spec into a client; a
// client reads remote secrets and, where the provider states ReadWrite,
// writes and deletes them for PushSecrets (RemoteWriter).
//
// Every client call gets a CallContext: an AbortSignal that fires at the
// call's deadline or when the operator stops (a provider passes it to its SDK
// so the socket is freed too), a logger scoped to the reconcile, the reader,
// and `request()`, which a provider awaits before each remote request it makes,
// so the store's call budget and the call metrics count real requests.
import type { ConnectGuard } from './connect-guard.js';
import type { Logger } from 'pino';
import type { AnyStore, FindRef, RemoteRef } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';

/** What a provider says about one value it returned. */
export interface SourceInfo {
  key: string;
  version?: string;
  /**
   * The value stops working at this time, and fetching again yields a fresh
   * one (a Vault lease, a short-lived token): refresh before it.
   */
  leaseEndsAt?: Date;
  /** The lease behind the value (its id is no credential) and the TTL a renewal asks for. */
  lease?: { id: string; ttlSeconds: number };
  /**
   * The stored value carries this expiry date, but fetching again yields the
   * same value until someone replaces it (Azure `exp`, Google `expire_time`):
   * refresh around it to pick up a replacement; once past, it is only reported.
   */
  expiresAt?: Date;
  /** A new value is expected at this time (scheduled rotation). */
  rotatesAt?: Date;
}

/** What a sync recorded about one remote secret (status.sources), perhaps in an earlier process. */
export interface RecordedSource {
  key: string;
  version: string;
  rotatesAt?: Date;
  /** When it was recorded (epoch ms). */
  at: number;
}

export interface RemoteValue {
  value: Uint8Array;
  source: SourceInfo;
}

export interface RemoteValues {
  values: Record<string, Uint8Array>;
  sources: SourceInfo[];
}

export interface CallContext {
  /** Aborted at the call's deadline or on shutdown; pass it to the SDK. */
  signal: AbortSignal;
  /** The call's deadline (epoch ms), for SDKs that take a timeout instead of a signal. */
  deadlineAt: number;
  /** Scoped to the reconcile (ExternalSecret key, store, reconcile id). */
  log: Logger;
  /** The ExternalSecret key the call is for ('' for store checks), for per-reader state such as leases. */
  consumer: string;
  /** Await before each remote request: takes from the store's budget and counts the request. */
  request(): Promise<void>;
}

/** What is at a remote key, for a PushSecret's ownership check. */
export interface RemoteState {
  exists: boolean;
  /** The owner recorded with it (RemoteWriter.ownership 'remote'); undefined when none is. */
  owner?: string;
  /** Its `managed-by` marker: "secretsync", or "external-secrets" for a secret External Secrets Operator pushed. */
  managedBy?: string;
  /** Its current version, for a conditional write. */
  version?: string;
}

export interface WriteOptions {
  /** Recorded with the remote secret where the provider can (tags, labels, custom metadata). */
  owner: string;
  /** The key did not exist when inspected: create it, and fail with ConflictError if it appeared meanwhile. */
  create: boolean;
  /** Replace only this version (where the provider can condition a write); ConflictError otherwise. */
  ifVersion?: string;
  /** The secret exists without our owner (one External Secrets Operator pushed): record ours with this write. */
  adopt?: boolean;
}

/**
 * Writes for PushSecrets. The controller decides (ownership, update and
 * deletion policy); a writer only inspects, writes and deletes one remote key.
 */
export interface RemoteWriter {
  /**
   * 'remote': the owner is stored with the secret and inspect() returns it;
   * 'status': the provider has nowhere to keep it (Vault KV v1), so only what
   * the PushSecret's status records as written by it counts as its own.
   */
  readonly ownership: 'remote' | 'status';
  /** Whether writes are conditioned on the version inspected (a change in between is a ConflictError). */
  readonly conditional: boolean;
  /** Whether a create fails (ConflictError) when the key appeared since it was inspected. */
  readonly exclusiveCreate: boolean;
  inspect(key: string, ctx: CallContext): Promise<RemoteState>;
  /** Writes the value as the key's new current value; returns the version written where there is one. */
  write(key: string, value: Uint8Array, opts: WriteOptions, ctx: CallContext): Promise<{ version?: string }>;
  /** Deletes the key (as recoverably as the provider allows); a key already gone is not an error. */
  remove(key: string, ctx: CallContext): Promise<void>;
}

export interface ProviderClient {
  /** Present when the provider can write (Provider.capabilities ReadWrite). */
  readonly writer?: RemoteWriter;
  /** One value; `ref.property` picks a field of a JSON value. */
  getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue>;
  /** A JSON object (or the value at `ref.property`) as a map of keys. */
  getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues>;
  /**
   * The version a plain read of `key` would return now, learned without
   * reading the value (Vault KV v2 metadata); undefined when the provider
   * cannot tell that way. Lets a refresh confirm nothing changed.
   */
  currentVersion?(key: string, ctx: CallContext): Promise<string | undefined>;
  /**
   * A remote secret's metadata instead of its value (remoteRef.metadataPolicy
   * Fetch), as the JSON object External Secrets Operator gives: Vault KV v2
   * custom_metadata, AWS tags, Key Vault tags, Secret Manager
   * {labels, annotations}. Absent: the provider has none to read.
   */
  getSecretMetadata?(key: string, ctx: CallContext): Promise<{ metadata: Record<string, unknown>; source: SourceInfo }>;
  /** Several values in as few requests as the provider allows (optional). */
  getSecrets?(refs: RemoteRef[], ctx: CallContext): Promise<Array<RemoteValue | Error>>;
  /** How many values one of getSecrets' requests carries. */
  readonly batchSize?: number;
  /** Every secret matching a path, name pattern or tags. */
  findSecrets?(find: FindRef, ctx: CallContext): Promise<RemoteValues>;
  /**
   * What syncs recorded about remote secrets: a provider that looks up
   * rotation dates apart from values (AWS DescribeSecret) may take the
   * recorded one while a read returns the same version, so a restarted
   * operator does not ask again for what status already says.
   */
  recall?(sources: RecordedSource[]): void;
  /** Checks the client can reach the provider with its credentials. */
  validate(ctx: CallContext): Promise<void>;
  /** False when a read must not be shared between readers (it issues per-reader credentials). */
  isShareable?(ref: RemoteRef): boolean;
  /** The reader is gone: give back what it held (revoke leases). */
  release?(consumer: string, ctx: CallContext): Promise<void>;
  /**
   * Renews leases by id (recorded on a Secret, perhaps by an earlier process):
   * each one's new end, or undefined when it cannot be renewed for about its TTL.
   */
  renewLeases?(leases: Array<{ id: string; ttlSeconds: number }>, ctx: CallContext): Promise<Array<Date | undefined>>;
  /** Revokes leases by id; a lease already gone counts as revoked. */
  revokeLeases?(ids: string[], ctx: CallContext): Promise<void>;
  close(): Promise<void>;
}

export interface ClientContext {
  store: AnyStore;
  /** The namespace credentials are read from (the store's own, for a SecretStore). */
  namespace: string;
  kube: KubeClient;
  /** Set for a namespaced store under --deny-store-hosts: every connection to its endpoint goes through it. */
  connectGuard?: ConnectGuard;
  /** The operator's choices that concern a provider's clients. */
  options?: ProviderOptions;
}

export interface ProviderOptions {
  /** gcpsm: Secret Manager over gRPC (the official client; default) or its REST API (leaner; --gcpsm-transport). */
  gcpsmTransport?: 'grpc' | 'rest';
}

export interface Provider {
  readonly name: string;
  /** ReadWrite: its clients have a RemoteWriter (PushSecret). */
  readonly capabilities: 'ReadOnly' | 'ReadWrite';
  /** Static checks of the store spec; returns problems, empty when valid. */
  validateStore(store: AnyStore): string[];
  newClient(ctx: ClientContext): Promise<ProviderClient>;
}
