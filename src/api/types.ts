// Named views of the generated CRD types, plus the full object shapes.
import type { KubeObject, Condition } from '../kube/types.js';
import type {
  ECRAuthorizationTokenSpec,
  GCRAccessTokenSpec,
  ACRAccessTokenSpec,
  WebhookSpec,
  PasswordSpec,
  PushSecretSpec,
  PushSecretStatus,
  UUIDSpec,
  VaultDynamicSecretSpec,
  ClusterExternalSecretSpec,
  ClusterExternalSecretStatus,
  ClusterSecretStoreSpec,
  ClusterSecretStoreStatus,
  ExternalSecretSpec,
  ExternalSecretStatus,
  SecretStoreSpec,
  SecretStoreStatus,
} from './generated.js';

export type { ExternalSecretSpec, ExternalSecretStatus, SecretStoreSpec, SecretStoreStatus };

export interface ExternalSecret extends KubeObject {
  spec: ExternalSecretSpec;
  status?: ExternalSecretStatus;
}

export interface SecretStore extends KubeObject {
  kind?: 'SecretStore';
  spec: SecretStoreSpec;
  status?: SecretStoreStatus;
}

export interface ClusterSecretStore extends KubeObject {
  kind?: 'ClusterSecretStore';
  spec: ClusterSecretStoreSpec;
  status?: ClusterSecretStoreStatus;
}

export interface ClusterExternalSecret extends KubeObject {
  kind?: 'ClusterExternalSecret';
  spec: ClusterExternalSecretSpec;
  status?: ClusterExternalSecretStatus;
}

export interface PushSecret extends KubeObject {
  kind?: 'PushSecret';
  spec: PushSecretSpec;
  status?: PushSecretStatus;
}
export type { PushSecretSpec, PushSecretStatus };

/** The generator kinds, by kind, with their specs. */
export interface GeneratorSpecs {
  Password: PasswordSpec;
  UUID: UUIDSpec;
  ECRAuthorizationToken: ECRAuthorizationTokenSpec;
  VaultDynamicSecret: VaultDynamicSecretSpec;
  GCRAccessToken: GCRAccessTokenSpec;
  ACRAccessToken: ACRAccessTokenSpec;
  Webhook: WebhookSpec;
}
export type GeneratorKind = keyof GeneratorSpecs;
export interface Generator<K extends GeneratorKind = GeneratorKind> extends KubeObject {
  kind?: K;
  spec: GeneratorSpecs[K];
}
export type GeneratorRef = NonNullable<NonNullable<NonNullable<ExternalSecretSpec['dataFrom']>[number]['sourceRef']>['generatorRef']>;

export type AnyStore = SecretStore | ClusterSecretStore;
export type StoreKind = 'SecretStore' | 'ClusterSecretStore';
export type ProviderSpec = SecretStoreSpec['provider'];
export type ProviderName = keyof ProviderSpec;
export type RemoteRef = NonNullable<ExternalSecretSpec['data']>[number]['remoteRef'];
export type FindRef = NonNullable<NonNullable<ExternalSecretSpec['dataFrom']>[number]['find']>;
export type DataFromEntry = NonNullable<ExternalSecretSpec['dataFrom']>[number];
export type SecretKeySelector = NonNullable<NonNullable<ProviderSpec['vault']>['auth']['tokenSecretRef']>;
export type StoreCondition = NonNullable<SecretStoreSpec['conditions']>[number];
export type { Condition };
