// Typed provider errors. Messages name keys and stores, never values.

/** The remote secret (or version, or property) does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly key: string, detail?: string) {
    super(detail ? `remote secret "${key}" not found: ${detail}` : `remote secret "${key}" not found`);
  }
}

/** The store's credentials are not allowed to read this. */
export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
}

/** The provider asked us to slow down. */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** The store's configuration is wrong (bad spec, missing credential Secret, ...). */
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
}
