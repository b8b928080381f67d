// Minimal Kubernetes object shapes the operator works with.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  immutable?: boolean;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** Where a kind lives in the API. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const API_GROUP = 'secretsync.dev';
export const API_VERSION = `${API_GROUP}/v1alpha1`;

export const Resources = {
  ExternalSecret: { group: API_GROUP, version: 'v1alpha1', plural: 'externalsecrets', kind: 'ExternalSecret', namespaced: true },
  SecretStore: { group: API_GROUP, version: 'v1alpha1', plural: 'secretstores', kind: 'SecretStore', namespaced: true },
  ClusterSecretStore: { group: API_GROUP, version: 'v1alpha1', plural: 'clustersecretstores', kind: 'ClusterSecretStore', namespaced: false },
  ClusterExternalSecret: { group: API_GROUP, version: 'v1alpha1', plural: 'clusterexternalsecrets', kind: 'ClusterExternalSecret', namespaced: false },
  PushSecret: { group: API_GROUP, version: 'v1alpha1', plural: 'pushsecrets', kind: 'PushSecret', namespaced: true },
  Password: { group: API_GROUP, version: 'v1alpha1', plural: 'passwords', kind: 'Password', namespaced: true },
  UUID: { group: API_GROUP, version: 'v1alpha1', plural: 'uuids', kind: 'UUID', namespaced: true },
  ECRAuthorizationToken: { group: API_GROUP, version: 'v1alpha1', plural: 'ecrauthorizationtokens', kind: 'ECRAuthorizationToken', namespaced: true },
  VaultDynamicSecret: { group: API_GROUP, version: 'v1alpha1', plural: 'vaultdynamicsecrets', kind: 'VaultDynamicSecret', namespaced: true },
  GCRAccessToken: { group: API_GROUP, version: 'v1alpha1', plural: 'gcraccesstokens', kind: 'GCRAccessToken', namespaced: true },
  ACRAccessToken: { group: API_GROUP, version: 'v1alpha1', plural: 'acraccesstokens', kind: 'ACRAccessToken', namespaced: true },
  Webhook: { group: API_GROUP, version: 'v1alpha1', plural: 'webhooks', kind: 'Webhook', namespaced: true },
  Secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  ConfigMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  Namespace: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  Event: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  ServiceAccount: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  Pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
} as const satisfies Record<string, ResourceType>;

/** The workloads secretsync restarts (spec.target.rolloutRestart kinds), once for src/ and the tests. */
export const WORKLOADS = {
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, apiVersion: 'apps/v1' },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, apiVersion: 'apps/v1' },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true, apiVersion: 'apps/v1' },
  Rollout: { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', kind: 'Rollout', namespaced: true, apiVersion: 'argoproj.io/v1alpha1' },
} as const satisfies Record<string, ResourceType & { apiVersion: string }>;

export function objectKey(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}
