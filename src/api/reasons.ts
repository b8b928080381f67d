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
  /** A connection to the store's endpoint went to an address --deny-store-hosts refuses (connect-guard.ts). */
  HostNotAllowed: 'HostNotAllowed',
  /** The store's calls hang: this ExternalSecret waits its turn rather than a worker (store-seats.ts). */
  StoreHeldBack: 'StoreHeldBack',
  RemoteNotFound: 'RemoteNotFound',
  PermissionDenied: 'PermissionDenied',
  Throttled: 'ProviderThrottled',
  SecretNotOwned: 'SecretNotOwned',
  /** External Secrets Operator wrote a Secret back after secretsync took it over: ESO is still running. */
  EsoRunning: 'ExternalSecretsOperatorRunning',
  SecretMissing: 'SecretMissing',
  SecretTooLarge: 'SecretTooLarge',
  SecretImmutable: 'SecretImmutable',
  InvalidData: 'InvalidData',
  TemplateError: 'TemplateError',
  KubernetesError: 'KubernetesAPIError',
  Deleted: 'SecretDeleted',
  GeneratorNotFound: 'GeneratorNotFound',
  GeneratorError: 'GeneratorFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** PushSecret Ready reasons (besides the provider reasons it shares with ExternalSecret). */
export const PushReason = {
  Pushed: 'SecretPushed',
  SourceNotFound: 'SourceSecretNotFound',
  NotOwned: 'RemoteSecretNotOwned',
  StoreReadOnly: 'StoreReadOnly',
  InvalidPush: 'InvalidPushSecret',
} as const;
export type PushReason = (typeof PushReason)[keyof typeof PushReason];

/** SecretStore / ClusterSecretStore Ready reasons. */
export const StoreReason = {
  Valid: 'Valid',
  InvalidConfig: 'InvalidProviderConfig',
  ValidationFailed: 'ValidationFailed',
} as const;

/** ExternalSecret RolloutRestart reasons (spec.target.rolloutRestart and annotated workloads). */
export const RestartReason = {
  Restarted: 'WorkloadsRestarted',
  Disabled: 'RolloutRestartDisabled',
  Forbidden: 'RestartForbidden',
  NotFound: 'WorkloadNotFound',
  Failed: 'RestartFailed',
} as const;

/** ClusterExternalSecret Ready reasons. */
export const ClusterExternalSecretReason = {
  Provisioned: 'Provisioned',
  NamespacesFailed: 'NamespacesFailed',
} as const;

/** Reasons of Events that are not a condition's (what happened, for `kubectl get events`). */
export const EventReason = {
  Created: 'Created',
  Updated: 'Updated',
  SecretAdopted: 'SecretAdopted',
  RemoteAdopted: 'RemoteAdopted',
  RemoteDeleted: 'RemoteDeleted',
  RemoteNotDeleted: 'RemoteNotDeleted',
  LeasesNotRevoked: 'LeasesNotRevoked',
  WorkloadRestarted: 'Restarted',
} as const;

/**
 * What each reason means and what to do about it: `secretsync explain <reason>`
 * prints it, and the operator's "sync failed" log line carries the `todo` as its hint.
 */
export const REASON_HELP: Record<string, { means: string; todo: string }> = {
  [Reason.Synced]: { means: 'The Secret holds what the provider has, shaped as the ExternalSecret asks.', todo: 'Nothing.' },
  [Reason.SourceExpired]: {
    means: 'The Secret is in sync, but a remote value carries an expiry date that has passed and nobody has stored a replacement (Azure exp, Google expire_time).',
    todo: 'Store a new version of the remote secret; secretsync picks it up at the next refresh.',
  },
  [Reason.SyncedError]: {
    means: 'Writing the Secret failed (the API server refused it, or it disappeared while being written). The existing Secret is unchanged.',
    todo: 'Read the message: it quotes the API server. Check admission webhooks and quotas in the namespace; the write is retried with backoff.',
  },
  [Reason.StoreNotFound]: {
    means: 'The SecretStore or ClusterSecretStore named in secretStoreRef does not exist (a SecretStore is looked up in the ExternalSecret\'s own namespace only).',
    todo: 'Create the store, or fix spec.secretStoreRef (name and kind). The ExternalSecret syncs as soon as the store appears.',
  },
  [Reason.StoreNotAllowed]: {
    means: 'The ClusterSecretStore exists but its spec.conditions do not admit this namespace, so nothing is read and the Secret is no longer refreshed.',
    todo: 'Ask the cluster admin to admit the namespace (conditions: namespaces, namespaceSelector labels, namespaceRegexes), or use another store.',
  },
  [Reason.StoreNotReady]: {
    means: 'The store exists but is not Ready: its configuration is invalid or its credentials were refused.',
    todo: 'Run `kubectl get secretstores.secretsync.dev <name> -o yaml` and read its Ready condition; fix the store, and its ExternalSecrets follow.',
  },
  [Reason.ProviderError]: {
    means: 'The provider call failed for another reason (unreachable, TLS, an unexpected answer). The existing Secret is unchanged.',
    todo: 'Read the message for the provider\'s own words; check network policies and the store\'s server/endpoint. Retried with backoff.',
  },
  [Reason.ProviderTimeout]: {
    means: 'The provider did not answer within the call deadline (--provider-timeout, 30 s by default).',
    todo: 'Check the provider\'s health and the network path. A call slower than --slow-call-after gives its worker back, so a slow provider does not hold up other stores. Retried with backoff.',
  },
  [Reason.HostNotAllowed]: {
    means: 'A connection to the store\'s endpoint (or a generator\'s) went to an address in a range --deny-store-hosts refuses for namespaced SecretStores and generators: the name now resolves there (DNS rebinding), though it did not when the client was made. Nothing was sent.',
    todo: 'Find out why the name now resolves to that address (the message names both). If the endpoint really is internal, have the platform team offer it as a ClusterSecretStore. Retried with backoff, so a DNS answer that is fixed brings it back.',
  },
  [Reason.StoreHeldBack]: {
    means: 'Calls to this ExternalSecret\'s store have gone unanswered for longer than --slow-call-after (500 ms by default), so the store is held back: only spec.slowCalls.maxWaiting of its ExternalSecrets (--workers by default) wait on it at a time, none of them holding a worker for longer than --slow-call-after, and this one waits its turn. The Secret is left as it is; other stores are not slowed.',
    todo: 'Check the store\'s provider (its health, the network path, its rate limits). The ExternalSecret syncs as soon as one of the store\'s calls returns; the store is no longer held back once a call answers within --slow-call-after. Raise spec.slowCalls.maxWaiting for a provider that is slow by nature and serves many calls at once.',
  },
  [Reason.RemoteNotFound]: {
    means: 'A remote secret, version or JSON property the ExternalSecret names does not exist (or is disabled, destroyed or scheduled for deletion).',
    todo: 'Check remoteRef.key, version and property against the provider. With deletionPolicy Delete, a source that is entirely gone deletes the Secret.',
  },
  [Reason.GeneratorNotFound]: {
    means: 'A generator named in dataFrom[].sourceRef.generatorRef (or a PushSecret\'s selector.generatorRef) does not exist in the namespace.',
    todo: 'Create the generator, or fix the reference (kind and name). Nothing is generated or written until then.',
  },
  [Reason.GeneratorError]: {
    means: 'A generator could not make its value (a token service or Vault refused, or its spec cannot be met). Values generated earlier stay in place.',
    todo: 'Read the message for the service\'s own words; check the generator\'s credentials. Retried with backoff.',
  },
  [PushReason.Pushed]: { means: 'Every entry of the PushSecret is written to every store it names (or left as is, by updatePolicy IfNotExists).', todo: 'Nothing.' },
  [PushReason.SourceNotFound]: {
    means: 'The Secret a PushSecret pushes (selector.secret.name), or a key it names, does not exist. Nothing is written or deleted remotely.',
    todo: 'Create the Secret or fix the key; the PushSecret pushes as soon as it appears (it watches the Secret).',
  },
  [PushReason.NotOwned]: {
    means: 'A remote secret the PushSecret would write exists and was not created by this PushSecret (by hand, by another PushSecret, or by another tool). It is never overwritten.',
    todo: 'Push to another remoteKey, delete the remote secret if it is stale, or set updatePolicy IfNotExists to leave it as it is.',
  },
  [PushReason.StoreReadOnly]: {
    means: 'A store the PushSecret names uses a provider secretsync only reads (status.capabilities ReadOnly).',
    todo: 'Push through a store whose provider can write: vault, aws, azurekv or gcpsm.',
  },
  [PushReason.InvalidPush]: {
    means: 'The PushSecret cannot be carried out as written (two entries write the same remote key differently, a template fails, or a provider cannot hold the value).',
    todo: 'Read the message, fix the PushSecret, and it is pushed again at once.',
  },
  [Reason.PermissionDenied]: {
    means: 'The provider refused the store\'s credentials for this secret (policy, IAM role, access policy).',
    todo: 'Grant the store\'s identity read access to the secret (for Vault: read on the data path; metadata read is optional).',
  },
  [Reason.Throttled]: {
    means: 'The provider asked secretsync to slow down (HTTP 429, ThrottlingException, RESOURCE_EXHAUSTED); the store holds its calls for the time the provider asked.',
    todo: 'Usually nothing: it clears by itself. If it persists, raise the provider quota or set the store\'s rateLimit lower.',
  },
  [Reason.SecretNotOwned]: {
    means: 'The target Secret exists and belongs to someone else (another ExternalSecret, External Secrets Operator, or no ExternalSecret at all), or is a kind secretsync never writes into.',
    todo: 'Pick another spec.target.name, delete the other Secret, or use creationPolicy Merge to add keys to a Secret you own. A Secret External Secrets Operator wrote is taken over in place when the ExternalSecret is annotated secretsync.dev/adopt-external-secrets: "true" (see docs/migrating-from-eso.md, "Cutover").',
  },
  [Reason.EsoRunning]: {
    means: 'secretsync took the Secret over from External Secrets Operator, and ESO wrote it back (its label or ownerReference returned): ESO still runs and still has an ExternalSecret for this Secret. secretsync does not fight it: it takes the Secret over again after a wait that doubles each time (5 s up to 5 min).',
    todo: 'Stop ESO (scale its Deployment to zero) or delete its ExternalSecret with --cascade=orphan; the next takeover then holds and the ExternalSecret turns Ready (see docs/migrating-from-eso.md, "Cutover").',
  },
  [Reason.SecretMissing]: {
    means: 'creationPolicy Merge adds keys to an existing Secret, and that Secret does not exist.',
    todo: 'Create the Secret first, or use creationPolicy Owner.',
  },
  [Reason.SecretTooLarge]: {
    means: 'The Secret would exceed 1 MiB, or a provider answered with more than secretsync reads (4 MiB, or a value of more than 10,000 keys). Nothing was written.',
    todo: 'Read fewer keys (narrow dataFrom.find), or split the remote secret.',
  },
  [Reason.SecretImmutable]: {
    means: 'The target Secret is immutable and the data changed.',
    todo: 'Delete the Secret; secretsync recreates it with the new data.',
  },
  [Reason.InvalidData]: {
    means: 'The data cannot become a Secret: a value is not the base64 or JSON its decodingStrategy or property says, a key is not a valid Secret key, two sources produce one key, or a regexp is not valid RE2.',
    todo: 'Fix the remote value or the ExternalSecret; `secretsync validate` finds the spec problems offline.',
  },
  [Reason.TemplateError]: {
    means: 'A template failed to parse or render (the message names the template key and the line), or a templateFrom source is missing.',
    todo: 'Fix the template; `secretsync render --values <file>` renders it locally without a provider.',
  },
  [Reason.KubernetesError]: {
    means: 'A request to the Kubernetes API server failed (not the Secret write itself).',
    todo: 'Check the API server and the operator\'s RBAC; retried with backoff.',
  },
  [Reason.Deleted]: {
    means: 'All remote secrets are gone and deletionPolicy is Delete, so the Secret was deleted.',
    todo: 'Recreate the remote secret if it was deleted by mistake; the Secret comes back at the next refresh.',
  },
  [StoreReason.Valid]: { means: 'The store\'s configuration is valid and its credentials work.', todo: 'Nothing.' },
  [StoreReason.InvalidConfig]: {
    means: 'The store\'s spec is wrong: a reference to another namespace from a SecretStore, an invalid admission condition, or a provider field the provider refuses.',
    todo: 'Fix the store spec; `secretsync validate` finds these offline.',
  },
  [StoreReason.ValidationFailed]: {
    means: 'The store\'s configuration is valid but the provider refused its credentials, or could not be reached, when secretsync checked them.',
    todo: 'Check the credential Secret, the provider\'s address and its policies; the check is retried, and a change to the credential Secret retries at once.',
  },
  [RestartReason.Restarted]: {
    means: 'The Secret\'s data changed and the workloads that use it were restarted (their Pod template got a new secretsync.dev/restarted-for annotation); status.restarts lists them.',
    todo: 'Nothing.',
  },
  [RestartReason.Disabled]: {
    means: 'The ExternalSecret asks for spec.target.rolloutRestart, but the operator runs without --rollout-restart, so no workload is restarted.',
    todo: 'Install with the chart value rolloutRestart.enabled=true or the kustomize component config/components/rollout-restart (both add the flag and the RBAC to patch workloads).',
  },
  [RestartReason.Forbidden]: {
    means: 'The operator may not read or patch the workloads to restart (Deployments, StatefulSets, DaemonSets, Argo Rollouts) in this namespace.',
    todo: 'Grant the RBAC with the chart value rolloutRestart.enabled=true or the kustomize component config/components/rollout-restart; the next change of the Secret restarts them.',
  },
  [RestartReason.NotFound]: {
    means: 'A workload named in spec.target.rolloutRestart does not exist (or its kind is not installed, such as Argo Rollouts); the Secret itself was synced.',
    todo: 'Fix the name or kind in spec.target.rolloutRestart, or create the workload.',
  },
  [RestartReason.Failed]: {
    means: 'Patching a workload\'s Pod template failed for another reason (the API server refused or did not answer); the Secret itself was synced.',
    todo: 'Check the Event and the operator\'s log line for the API error; the next change of the Secret tries again.',
  },
  [ClusterExternalSecretReason.Provisioned]: {
    means: 'The ClusterExternalSecret\'s ExternalSecret exists in every namespace it selects (status.provisionedNamespaces lists them).',
    todo: 'Nothing. Each ExternalSecret reports its own sync: `kubectl get externalsecrets.secretsync.dev -A`.',
  },
  [ClusterExternalSecretReason.NamespacesFailed]: {
    means: 'The ExternalSecret could not be created or updated in some of the selected namespaces (status.failedNamespaces names each, with the API server\'s answer): an ExternalSecret of that name that the ClusterExternalSecret does not own, or a refusal by the API server.',
    todo: 'Read status.failedNamespaces; rename or remove the ExternalSecret in the way, or fix what the API server said. The other namespaces are served meanwhile, and the failed ones are retried.',
  },
  [EventReason.Created]: { means: 'An ExternalSecret created its target Secret (a Normal Event).', todo: 'Nothing.' },
  [EventReason.Updated]: { means: 'An ExternalSecret wrote new data or metadata to its target Secret (a Normal Event).', todo: 'Nothing.' },
  [EventReason.SecretAdopted]: {
    means: 'An ExternalSecret annotated secretsync.dev/adopt-external-secrets: "true" took over, in place, a Secret External Secrets Operator had written: ESO\'s label, data-hash and ownerReference were removed and ESO\'s fields handed to secretsync; the object and (when the value is the same) its data are unchanged. The Event says whom it was taken from.',
    todo: 'Nothing. Once every Secret of a namespace is taken over, `secretsync release-eso` deletes ESO\'s ExternalSecrets (docs/migrating-from-eso.md, "Cutover").',
  },
  [EventReason.RemoteAdopted]: {
    means: 'A PushSecret annotated secretsync.dev/adopt-external-secrets: "true" took over a remote secret External Secrets Operator had pushed (marked managed-by: external-secrets, no owner of secretsync\'s) and recorded itself as its owner.',
    todo: 'Nothing.',
  },
  [EventReason.RemoteDeleted]: { means: 'A PushSecret with deletionPolicy Delete deleted a remote secret it owned (an entry, a store, or the PushSecret itself went).', todo: 'Nothing.' },
  [EventReason.RemoteNotDeleted]: {
    means: 'A PushSecret with deletionPolicy Delete could not delete a remote secret it owned: the store is gone or the provider refused. The remote secret stays.',
    todo: 'Delete it in the provider by hand if it must go; the Event names the key and the store.',
  },
  [EventReason.LeasesNotRevoked]: {
    means: 'An ExternalSecret or PushSecret holding dynamic-secret leases was deleted while its store or generator could not be used, so its leases were not revoked; they end at their TTL. Store leases were listed on the Secret\'s secretsync.dev/leases annotation; a VaultDynamicSecret generator\'s lease is kept in the encrypted secretsync.dev/generator-state annotation, and the Event names how many.',
    todo: 'Revoke them in Vault if they must end sooner (for example `vault lease revoke -prefix <the generator\'s path>`), or let them expire at their TTL.',
  },
  [EventReason.WorkloadRestarted]: {
    means: 'On a Deployment, StatefulSet, DaemonSet or Argo Rollout: secretsync restarted it because a Secret its Pods use changed (a new secretsync.dev/restarted-for Pod template annotation).',
    todo: 'Nothing.',
  },
};
