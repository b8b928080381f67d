// Every label and annotation name the operator reads or writes, in one place.

/** On every Secret we write; our Secret watch selects on it. */
export const MANAGED_LABEL = 'secretsync.dev/managed';
/** On every Secret we write: the ExternalSecret that owns its data. */
export const OWNER_ANNOTATION = 'secretsync.dev/external-secret';
/** On every Secret we write: the keyed hash (HMAC) of its type and data. */
export const HASH_ANNOTATION = 'secretsync.dev/data-hash';
/** On an ExternalSecret: any new value forces a fetch that bypasses shared reads. */
export const FORCE_SYNC_ANNOTATION = 'secretsync.dev/force-sync';
/** On the installation key Secret. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
