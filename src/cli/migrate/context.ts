// What one document's conversion needs to know about the others given to
// `migrate` with it: the store an ExternalSecret reads from (is it Vault, with
// which mount; was it refused?), and the ConfigMaps and Secrets whose items
// ExternalSecrets use as templates (templateFrom).
import type { Document } from 'yaml';
import { asText } from '../manifests.js';

export interface StoreInfo {
  kind: string;
  name: string;
  namespace?: string;
  provider: string;
  /** Vault: ESO's `path` (undefined: keys name their mount) and KV version. */
  vaultPath?: string;
  vaultVersion?: string;
  /** The store could not be converted: its ExternalSecrets cannot either. */
  refused: boolean;
}

export interface TemplateRef {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  namespace?: string;
  keys: Set<string>;
}

const sameNamespace = (a?: string, b?: string) => a === undefined || b === undefined || a === b;

export class MigrateContext {
  private readonly stores: StoreInfo[] = [];
  private readonly templates: TemplateRef[] = [];
  private readonly resources: Array<{ kind: string; name: string; namespace?: string; refused?: boolean }> = [];

  addStore(info: StoreInfo): void {
    this.stores.push(info);
  }

  /** The store `ref` names from an ExternalSecret in `namespace`, when it is among the inputs. */
  store(ref: { name?: unknown; kind?: unknown }, namespace: string | undefined): StoreInfo | undefined {
    const kind = asText(ref.kind) || 'SecretStore';
    const candidates = this.stores.filter((s) => s.kind === kind && s.name === asText(ref.name));
    if (kind === 'ClusterSecretStore') return candidates[0];
    return candidates.find((s) => s.namespace === namespace) ?? candidates.find((s) => sameNamespace(s.namespace, namespace));
  }

  /** Records the templateFrom sources of an ExternalSecret spec. */
  addTemplateSources(spec: unknown, namespace: string | undefined): void {
    const from = (spec as { target?: { template?: { templateFrom?: unknown[] } } } | undefined)?.target?.template?.templateFrom ?? [];
    for (const entry of from as Array<Record<string, { name?: string; items?: Array<{ key?: string }> } | undefined>>) {
      for (const [field, kind] of [['configMap', 'ConfigMap'], ['secret', 'Secret']] as const) {
        const source = entry[field];
        if (!source?.name) continue;
        const keys = new Set((source.items ?? []).map((i) => asText(i.key)));
        const known = this.templates.find((t) => t.kind === kind && t.name === source.name && t.namespace === namespace);
        if (known) for (const k of keys) known.keys.add(k);
        else this.templates.push({ kind, name: source.name, namespace, keys });
      }
    }
  }

  /** The template keys ExternalSecrets use from this ConfigMap or Secret, if any. */
  templateKeys(doc: Document): Set<string> | undefined {
    const obj = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    const kind = obj?.kind;
    if (kind !== 'ConfigMap' && kind !== 'Secret') return undefined;
    const matching = this.templates.filter((t) => t.kind === kind && t.name === obj?.metadata?.name && sameNamespace(t.namespace, obj?.metadata?.namespace));
    if (matching.length === 0) return undefined;
    return new Set(matching.flatMap((t) => [...t.keys]));
  }

  /** Records a ConfigMap or Secret found among the inputs; refused: its templates cannot be converted. */
  addResource(kind: string, name: string, namespace: string | undefined, refused: boolean): void {
    this.resources.push({ kind, name, namespace, refused });
  }

  /** A ConfigMap or Secret an ExternalSecret in `namespace` names: missing, refused (its templates cannot be converted) or found. */
  resource(kind: string, name: string, namespace: string | undefined): 'missing' | 'refused' | 'found' {
    const found = this.resources.filter((r) => r.kind === kind && r.name === name && sameNamespace(r.namespace, namespace));
    if (found.length === 0) return 'missing';
    return found.some((r) => r.refused) ? 'refused' : 'found';
  }
}
