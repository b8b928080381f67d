// The checks the operator makes beyond what the API server validates, in one
// place: the operator runs them on every spec change (a SecretStore's
// reconcile, an ExternalSecret's first sync of a generation) and
// `secretsync validate` runs them on files. Each problem names its field.
import { Reason } from '../api/reasons.js';
import type { AnyStore, ExternalSecretSpec, ProviderName } from '../api/types.js';
import { conditionProblems } from '../secrets/namespace-conditions.js';
import { checkTemplate } from '../util/template-engine.js';
import { referenceProblems } from '../providers/credentials.js';
import type { Provider } from '../providers/provider.js';
import { providerName } from '../providers/registry.js';
import { parseDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import { compileLinear } from '../util/linear-regexp.js';
import type { Problem } from './schema.js';

export interface SemanticProblem extends Problem {
  /** The Ready reason the operator reports it with. */
  reason: Reason;
}

/** Problems of an ExternalSecret spec that no provider call can change. */
export async function externalSecretProblems(spec: ExternalSecretSpec): Promise<SemanticProblem[]> {
  const out: SemanticProblem[] = [];
  const invalid = (path: string, fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      out.push({ path, message: errorMessage(err), reason: Reason.InvalidData });
    }
  };
  if (spec.refreshInterval !== undefined) invalid('spec.refreshInterval', () => parseDuration(spec.refreshInterval!));
  for (const [i, entry] of (spec.dataFrom ?? []).entries()) {
    if (entry.find?.name) invalid(`spec.dataFrom[${i}].find.name.regexp`, () => compileLinear(entry.find!.name!.regexp, 'find.name.regexp'));
    for (const [j, rewrite] of (entry.rewrite ?? []).entries()) {
      if (rewrite.regexp) invalid(`spec.dataFrom[${i}].rewrite[${j}].regexp.source`, () => compileLinear(rewrite.regexp!.source, 'rewrite.regexp.source'));
    }
  }
  const template = spec.target?.template;
  const sources: Array<[string, string | undefined]> = [
    ...Object.entries(template?.data ?? {}).map(([k, v]): [string, string] => [`spec.target.template.data["${k}"]`, v]),
    ...Object.entries(template?.metadata?.labels ?? {}).map(([k, v]): [string, string] => [`spec.target.template.metadata.labels["${k}"]`, v]),
    ...Object.entries(template?.metadata?.annotations ?? {}).map(([k, v]): [string, string] => [`spec.target.template.metadata.annotations["${k}"]`, v]),
    ...(template?.templateFrom ?? []).map((from, i): [string, string | undefined] => [`spec.target.template.templateFrom[${i}].literal`, from.literal]),
    ...(spec.dataFrom ?? []).flatMap((entry, i) => (entry.rewrite ?? []).map((r, j): [string, string | undefined] => [`spec.dataFrom[${i}].rewrite[${j}].transform.template`, r.transform?.template])),
  ];
  for (const [path, source] of sources) {
    if (source === undefined) continue;
    try {
      // Named as the operator's render errors name it (template.data["k"]), worded the same.
      await checkTemplate(source, path.replace(/^spec\.target\.|^spec\./, ''));
    } catch (err) {
      out.push({ path, message: `template failed: ${errorMessage(err)}`, reason: Reason.TemplateError });
    }
  }
  return out;
}

/**
 * Problems of a store spec: exactly one provider, references that stay in a
 * SecretStore's namespace, admission conditions, and the provider's own checks.
 */
export async function storeProblems(store: AnyStore, loadProvider: (name: ProviderName) => Promise<Provider>): Promise<{ problems: string[]; provider?: Provider }> {
  const name = providerName(store.spec.provider);
  const problems: string[] = [];
  if (!name) problems.push('spec.provider needs exactly one provider');
  problems.push(...referenceProblems(store), ...conditionProblems(store.spec.conditions));
  if (!name || problems.length > 0) return { problems };
  try {
    const provider = await loadProvider(name);
    return { problems: provider.validateStore(store), provider };
  } catch (err) {
    return { problems: [errorMessage(err)] };
  }
}
