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
/**
 * On a managed Secret whose data came from dynamic secrets: the lease ids
 * behind it (never the credentials), so a restarted operator can renew them
 * and revoke them when the ExternalSecret goes.
 */
export const LEASES_ANNOTATION = 'secretsync.dev/leases';
/** On an ExternalSecret holding leases: its deletion waits until they are revoked. */
export const LEASES_FINALIZER = 'secretsync.dev/revoke-leases';
/** On a workload's Pod template: the keyed hash of the Secret data it was restarted for (a repeat is a no-op). */
export const RESTARTED_FOR_ANNOTATION = 'secretsync.dev/restarted-for';
/**
 * On a PushSecret: "true" lets it take over remote secrets External Secrets
 * Operator pushed (marked managed-by: external-secrets, no owner of ours), as
 * ESO's own Replace would overwrite them; migrate sets it.
 */
export const ADOPT_ESO_ANNOTATION = 'secretsync.dev/adopt-external-secrets';
/** On a Deployment, StatefulSet or DaemonSet: "true" restarts it when a Secret its Pods use changes. */
export const RESTART_ON_CHANGE_ANNOTATION = 'secretsync.dev/restart-on-change';
/**
 * With --shards, on every ExternalSecret and managed Secret: the bucket of its
 * namespace (runtime/sharding/buckets.ts), written once; each replica watches
 * only the buckets it holds.
 */
export const SHARD_LABEL = 'secretsync.dev/shard';
/** With --shards, on each replica's member Lease: the buckets it holds (works on) now. */
export const SHARD_HOLDS_ANNOTATION = 'secretsync.dev/holds';
/** With --shards, on the assignment Lease (written by the leader): the buckets each replica is to hold. */
export const SHARD_ASSIGNMENT_ANNOTATION = 'secretsync.dev/assignment';
/**
 * With --shards, on the leader Lease, written with each acquire and renewal:
 * the identity of a leader that shards. Members act on the assignment only
 * while it names the holder: a leader that does not shard (a rollout to or
 * from --shards) leaves a stale value, and every member stops.
 */
export const SHARDING_LEADER_ANNOTATION = 'secretsync.dev/sharding-leader';
/**
 * With --shards and provider change events, on the ring's change Lease
 * (`<ring>-changes`, written by the leader): the (store, key) pairs of the
 * latest event windows, numbered, for every replica to refresh the readers it
 * holds (runtime/sharding/change-relay.ts).
 */
export const SHARD_CHANGES_ANNOTATION = 'secretsync.dev/changes';
/** With --shards, on each member Lease: the ring (leader Lease name) it is a member of. */
export const SHARD_RING_LABEL = 'secretsync.dev/shard-ring';
