// Taking over a Secret that External Secrets Operator wrote, in place: one
// conditional JSON patch that strips ESO's marks, writes ours and hands ESO's
// fields to our field manager. The object stays (same uid, never deleted),
// and data that did not change stays byte for byte the same.
//
// managedFields sent in an update are taken as given (the API server's field
// manager only decodes the live ones when the request carries none), and the
// fields the update changes are then added to the entry of the manager that
// makes it. So the patch sends the live entries without ESO's, plus one
// `secretsync` Update entry that owns every field of the desired Secret:
// exactly what a create by `secretsync` leaves, which the next server-side
// apply turns into an Apply entry (target-secret.ts, upgradeOwnership).
import { ESO_CREATED_BY_LABEL, ESO_DATA_HASH_ANNOTATION, ESO_MANAGED_LABEL, esoMarks, isEsoFieldManager, isEsoOwnerRef } from '../../api/eso.js';
import { Reason } from '../../api/reasons.js';
import { ADOPT_ESO_ANNOTATION } from '../../api/names.js';
import { FIELD_MANAGER } from '../../kube/client.js';
import type { ManagedFieldsEntry, OwnerReference, Secret } from '../../kube/types.js';
import { SyncError } from '../../secrets/sync-error.js';

const MIGRATION_DOC = 'docs/migrating-from-eso.md';

/** Why a Secret ESO marks cannot be taken over, or undefined when it can. */
export function takeoverRefusal(secret: Secret, annotated: boolean): SyncError | undefined {
  const name = secret.metadata.name;
  const marks = esoMarks(secret);
  if (!marks.labeled) {
    return new SyncError(Reason.SecretNotOwned, `Secret "${name}" already exists and is not managed by secretsync or by External Secrets Operator (no label ${ESO_MANAGED_LABEL}); use creationPolicy Merge to add keys to it, or another target name`, false);
  }
  if (!annotated) {
    return new SyncError(
      Reason.SecretNotOwned,
      `Secret "${name}" is managed by External Secrets Operator (label ${ESO_MANAGED_LABEL}); to take it over in place, annotate this ExternalSecret ${ADOPT_ESO_ANNOTATION}: "true" (${MIGRATION_DOC})`,
      false,
    );
  }
  if (marks.foreignController) {
    const c = marks.foreignController;
    return new SyncError(Reason.SecretNotOwned, `Secret "${name}" carries External Secrets Operator's label but is controlled by ${c.kind} "${c.name}" (${c.apiVersion}): only Secrets ESO's ExternalSecrets own are taken over`, false);
  }
  return undefined;
}

export interface Takeover {
  /** The JSON patch that performs it, conditional on the uid and resourceVersion read. */
  ops: unknown[];
  /** Whether the data (or type) the Secret holds changes. */
  dataChanged: boolean;
  /** Who it was taken from: ESO's ExternalSecrets named as owners or field managers. */
  from: string[];
}

/** The one write that takes `current` over as `desired` (Owner or Orphan policy). */
export function takeoverPatch(current: Secret, desired: Secret): Takeover {
  const meta = current.metadata;
  const labels = withoutKeys(meta.labels, [ESO_MANAGED_LABEL, ESO_CREATED_BY_LABEL]);
  const annotations = withoutKeys(meta.annotations, [ESO_DATA_HASH_ANNOTATION]);
  const ownerReferences: OwnerReference[] = [
    ...(meta.ownerReferences ?? []).filter((r) => !isEsoOwnerRef(r) && !desired.metadata.ownerReferences?.some((d) => d.uid === r.uid)),
    ...(desired.metadata.ownerReferences ?? []),
  ];
  const entries = meta.managedFields ?? [];
  const managedFields: ManagedFieldsEntry[] = [
    ...entries.filter((m) => !isEsoFieldManager(m.manager) && m.manager !== FIELD_MANAGER),
    { manager: FIELD_MANAGER, operation: 'Update', apiVersion: 'v1', time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), fieldsType: 'FieldsV1', fieldsV1: fieldsOf(desired) },
  ];
  const data = desired.data ?? {};
  const ops: unknown[] = [
    { op: 'test', path: '/metadata/uid', value: meta.uid },
    { op: 'test', path: '/metadata/resourceVersion', value: meta.resourceVersion },
    { op: 'add', path: '/metadata/labels', value: { ...labels, ...desired.metadata.labels } },
    { op: 'add', path: '/metadata/annotations', value: { ...annotations, ...desired.metadata.annotations } },
    ownerReferences.length > 0
      ? { op: 'add', path: '/metadata/ownerReferences', value: ownerReferences }
      : meta.ownerReferences ? { op: 'remove', path: '/metadata/ownerReferences' } : undefined,
    { op: 'add', path: '/metadata/managedFields', value: managedFields },
    { op: 'add', path: '/data', value: data },
    desired.type !== undefined ? { op: 'add', path: '/type', value: desired.type } : undefined,
    desired.immutable ? { op: 'add', path: '/immutable', value: true } : undefined,
  ].filter((op) => op !== undefined);
  const dataChanged = (current.type ?? 'Opaque') !== (desired.type ?? current.type ?? 'Opaque') || !sameData(current.data, data);
  const from = [...new Set([
    ...(meta.ownerReferences ?? []).filter(isEsoOwnerRef).map((r) => `ExternalSecret "${r.name}"`),
    ...entries.filter((m) => isEsoFieldManager(m.manager)).map((m) => `field manager ${m.manager}`),
  ])];
  return { ops, dataChanged, from };
}

/** The FieldsV1 set of every field the desired Secret sets, as the API server writes it. */
export function fieldsOf(desired: Secret): Record<string, unknown> {
  const keys = (record: Record<string, string> | undefined) => Object.fromEntries(Object.keys(record ?? {}).map((k) => [`f:${k}`, {}]));
  const metadata: Record<string, unknown> = {};
  if (desired.metadata.labels) metadata['f:labels'] = { '.': {}, ...keys(desired.metadata.labels) };
  if (desired.metadata.annotations) metadata['f:annotations'] = { '.': {}, ...keys(desired.metadata.annotations) };
  if (desired.metadata.ownerReferences?.length) {
    metadata['f:ownerReferences'] = {
      '.': {},
      ...Object.fromEntries(desired.metadata.ownerReferences.map((r) => [
        `k:{"uid":"${r.uid}"}`,
        { '.': {}, 'f:apiVersion': {}, 'f:blockOwnerDeletion': {}, 'f:controller': {}, 'f:kind': {}, 'f:name': {}, 'f:uid': {} },
      ])),
    };
  }
  const fields: Record<string, unknown> = { 'f:metadata': metadata };
  if (desired.data && Object.keys(desired.data).length > 0) fields['f:data'] = { '.': {}, ...keys(desired.data) };
  if (desired.type !== undefined) fields['f:type'] = {};
  if (desired.immutable) fields['f:immutable'] = {};
  return fields;
}

function withoutKeys(record: Record<string, string> | undefined, drop: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).filter(([k]) => !drop.includes(k)));
}

function sameData(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b).length && ak.every((k) => a![k] === b[k]);
}
