// The Secret Manager calls the gcpsm provider makes, in the shape of the
// official client's methods, so the reader and the writer do not depend on
// the transport: @google-cloud/secret-manager over gRPC (grpc-transport.ts)
// or the REST API over HTTP/1.1 (rest-transport.ts). Types only: importing
// this loads no SDK.
import type { protos } from '@google-cloud/secret-manager';

/** Per call: the deadline (ms) and no client-side retries (the controller retries). */
export interface RpcOptions {
  timeout: number;
  retry: null;
}

/** A call in flight; cancel() aborts it. */
export type Rpc<T> = Promise<T> & { cancel?: () => void };

export type Secret = protos.google.cloud.secretmanager.v1.ISecret;
export type SecretVersion = protos.google.cloud.secretmanager.v1.ISecretVersion;
export type AccessResponse = protos.google.cloud.secretmanager.v1.IAccessSecretVersionResponse;
export type ListSecretsResponse = protos.google.cloud.secretmanager.v1.IListSecretsResponse;

export interface SecretManagerApi {
  accessSecretVersion(req: { name: string }, o: RpcOptions): Rpc<[AccessResponse, ...unknown[]]>;
  getSecretVersion(req: { name: string }, o: RpcOptions): Rpc<[SecretVersion, ...unknown[]]>;
  getSecret(req: { name: string }, o: RpcOptions): Rpc<[Secret, ...unknown[]]>;
  listSecrets(req: { parent: string; filter?: string; pageSize: number; pageToken?: string }, o: RpcOptions & { autoPaginate: false }): Rpc<[Secret[], unknown, (ListSecretsResponse | undefined)?, ...unknown[]]>;
  createSecret(req: { parent: string; secretId?: string; secret: Secret }, o: RpcOptions): Rpc<[Secret, ...unknown[]]>;
  updateSecret(req: { secret: Secret; updateMask: { paths: string[] } }, o: RpcOptions): Rpc<[Secret, ...unknown[]]>;
  addSecretVersion(req: { parent: string; payload: { data: Uint8Array; dataCrc32c: number } }, o: RpcOptions): Rpc<[SecretVersion, ...unknown[]]>;
  deleteSecret(req: { name: string }, o: RpcOptions): Rpc<unknown[]>;
  close(): Promise<void>;
}
