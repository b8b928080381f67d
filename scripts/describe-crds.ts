// Writes the field descriptions of crds/descriptions.yaml into the CRDs
// (what `kubectl explain` shows) and a field reference into
// docs/api-reference.md, so schema and docs come from one source. Fields
// reached through a YAML alias share the description of their anchor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlias, isMap, parse, parseDocument, type Scalar, type YAMLMap } from 'yaml';

const root = join(import.meta.dirname, '..');

type Section = 'ExternalSecret' | 'Store' | 'ClusterExternalSecret' | 'PushSecret' | 'Password' | 'UUID' | 'ECRAuthorizationToken' | 'VaultDynamicSecret' | 'GCRAccessToken' | 'ACRAccessToken' | 'Webhook';
type Descriptions = { common: Record<string, string> } & Record<Section, Record<string, string>>;

export interface Field {
  path: string;
  type: string;
  description?: string;
}

const CRDS: Record<string, Section> = {
  'externalsecrets.yaml': 'ExternalSecret',
  'secretstores.yaml': 'Store',
  'clustersecretstores.yaml': 'Store',
  'clusterexternalsecrets.yaml': 'ClusterExternalSecret',
  'pushsecrets.yaml': 'PushSecret',
  'passwords.yaml': 'Password',
  'uuids.yaml': 'UUID',
  'ecrauthorizationtokens.yaml': 'ECRAuthorizationToken',
  'vaultdynamicsecrets.yaml': 'VaultDynamicSecret',
  'gcraccesstokens.yaml': 'GCRAccessToken',
  'acraccesstokens.yaml': 'ACRAccessToken',
  'webhooks.yaml': 'Webhook',
};

/**
 * Schemas one kind carries from another, copied exactly (rules and
 * descriptions included), so the same field is checked the same way
 * everywhere: [file, path here, source file, source section, path there].
 */
const EMBEDS: Array<[string, string, string, Section, string]> = [
  ['clusterexternalsecrets.yaml', 'spec.externalSecretSpec', 'externalsecrets.yaml', 'ExternalSecret', 'spec'],
  ['pushsecrets.yaml', 'spec.template', 'externalsecrets.yaml', 'ExternalSecret', 'spec.target.template'],
  ['ecrauthorizationtokens.yaml', 'spec.auth', 'secretstores.yaml', 'Store', 'spec.provider.aws.auth'],
  ['vaultdynamicsecrets.yaml', 'spec.provider', 'secretstores.yaml', 'Store', 'spec.provider.vault'],
  ['gcraccesstokens.yaml', 'spec.auth', 'secretstores.yaml', 'Store', 'spec.provider.gcpsm.auth'],
  // The Webhook generator is a webhook store's request, field by field, plus its own refreshInterval.
  ...['url', 'method', 'headers', 'body', 'timeout', 'result', 'secrets', 'caBundle', 'caProvider'].map(
    (field): [string, string, string, Section, string] => ['webhooks.yaml', `spec.${field}`, 'secretstores.yaml', 'Store', `spec.provider.webhook.${field}`],
  ),
];

const schemaPathOf = (path: string): Array<string | number> => path.split('.').flatMap((p) => ['properties', p]);

/** The CRD file with every described field's description set, and its fields in order. */
export function describeCrd(file: string): { text: string; fields: Field[] } {
  const all = parse(readFileSync(join(root, 'crds/descriptions.yaml'), 'utf8')) as Descriptions;
  const wanted: Record<string, string> = { ...all.common, ...all[CRDS[file]!] };
  const doc = parseDocument(readFileSync(join(root, 'crds', file), 'utf8'));
  const schemaPath = ['spec', 'versions', 0, 'schema', 'openAPIV3Schema'];
  for (const [into, here, from, section, there] of EMBEDS) {
    if (into !== file) continue;
    // Anchors do not cross documents: the copy is the plain schema, aliases resolved.
    let node = parse(readFileSync(join(root, 'crds', from), 'utf8')) as Record<string | number, unknown>;
    for (const step of [...schemaPath, ...schemaPathOf(there)]) node = node[step] as Record<string | number, unknown>;
    const copied = doc.createNode(node, { aliasDuplicateObjects: false }) as YAMLMap;
    if (wanted[here]) copied.set('description', wanted[here]);
    doc.setIn([...schemaPath, ...schemaPathOf(here)], copied);
    for (const [path, text] of Object.entries(all[section])) if (path.startsWith(`${there}.`)) wanted[`${here}${path.slice(there.length)}`] = text;
  }
  const fields: Field[] = [];
  const walk = (node: YAMLMap, path: string) => {
    const props = node.get('properties', true);
    if (isMap(props)) {
      for (const pair of props.items) {
        const name = String((pair.key as Scalar).value);
        const here = path ? `${path}.${name}` : name;
        if (isAlias(pair.value)) {
          fields.push({ path: here, type: 'see above', description: `Same shape as the field it aliases (${String(pair.value.source)}).` });
          continue;
        }
        // The API server describes an object's metadata itself and refuses a schema for it.
        if (!isMap(pair.value) || here === 'metadata') continue;
        const field = pair.value;
        const description = wanted[here];
        if (description !== undefined && field.get('description') !== description) field.set('description', description);
        const type = field.get('type');
        fields.push({ path: here, type: typeof type === 'string' ? type : '', description: field.get('description') as string | undefined });
        walk(field, here);
      }
    }
    const items = node.get('items', true);
    if (isMap(items)) walk(items, `${path}[]`);
    const values = node.get('additionalProperties', true);
    if (isMap(values)) walk(values, `${path}{}`);
  };
  walk(doc.getIn(schemaPath, true) as YAMLMap, '');
  return { text: doc.toString({ lineWidth: 0, flowCollectionPadding: false }), fields };
}

export function crdFileNames(): string[] {
  return Object.keys(CRDS);
}

/** docs/api-reference.md: every field of every CRD with its type and description. */
export function apiReference(): string {
  const out = ['# API reference', '', 'Generated by `make generate` from `crds/` (descriptions from `crds/descriptions.yaml`); `kubectl explain` shows the same text.', ''];
  for (const file of crdFileNames()) {
    const kind = (parse(readFileSync(join(root, 'crds', file), 'utf8')) as { spec: { names: { kind: string } } }).spec.names.kind;
    out.push(`## ${kind}`, '', '| field | type | description |', '| --- | --- | --- |');
    for (const f of describeCrd(file).fields) out.push(`| \`${f.path}\` | ${f.type} | ${(f.description ?? '').replaceAll('|', '\\|')} |`);
    out.push('');
  }
  return out.join('\n');
}
