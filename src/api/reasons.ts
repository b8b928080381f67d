// Condition reasons shown in status and Events. They are part of the API:
// users alert on them, so each names one cause.

/** ExternalSecret Ready reasons. */
export const Reason = {
  Synced: 'SecretSynced',
  /** Synced, but a remote value's own expiry date has passed (the owner has not replaced it). */
  SourceExpired: 'RemoteSecretExpired',
  SyncedError: 'SecretSyncedError',
  StoreNotFound: 'StoreNotFound',
  StoreNotAllowed: 'StoreNotAllowed',
  StoreNotReady: 'StoreNotReady',
  ProviderError: 'ProviderError',
  ProviderTimeout: 'ProviderTimeout',
  RemoteNotFound: 'RemoteNotFound',
  PermissionDenied: 'PermissionDenied',
  Throttled: 'ProviderThrottled',
  SecretNotOwned: 'SecretNotOwned',
  SecretMissing: 'SecretMissing',
  SecretTooLarge: 'SecretTooLarge',
  SecretImmutable: 'SecretImmutable',
  InvalidData: 'InvalidData',
  TemplateError: 'TemplateError',
  KubernetesError: 'KubernetesAPIError',
  Deleted: 'SecretDeleted',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** SecretStore / ClusterSecretStore Ready reasons. */
export const StoreReason = {
  Valid: 'Valid',
  InvalidConfig: 'InvalidProviderConfig',
  ValidationFailed: 'ValidationFailed',
} as const;
