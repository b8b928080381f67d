// Ready condition reasons for ExternalSecrets, and the error that carries one.
export const Reason = {
  Synced: 'SecretSynced',
  SyncedError: 'SecretSyncedError',
  StoreNotFound: 'StoreNotFound',
  StoreNotAllowed: 'StoreNotAllowed',
  StoreNotReady: 'StoreNotReady',
  ProviderError: 'ProviderError',
  RemoteNotFound: 'RemoteNotFound',
  PermissionDenied: 'PermissionDenied',
  Throttled: 'ProviderThrottled',
  SecretNotOwned: 'SecretNotOwned',
  SecretMissing: 'SecretMissing',
  SecretTooLarge: 'SecretTooLarge',
  SecretImmutable: 'SecretImmutable',
  InvalidData: 'InvalidData',
  TemplateError: 'TemplateError',
  Deleted: 'SecretDeleted',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** A failure with a status reason. `retry` false waits for a change instead of backing off. */
export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly reason: Reason,
    message: string,
    readonly retry: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
