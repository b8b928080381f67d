// Which namespaces a ClusterSecretStore admits. No conditions: every
// namespace. Otherwise a namespace is admitted when any one condition
// matches. Regexes are anchored, so "team-a" does not admit "team-a-evil",
// and run on RE2 in linear time like every other regexp we are given.
import type { StoreCondition } from '../api/types.js';
import { compileLinear } from '../util/linear-regexp.js';

type Selector = NonNullable<StoreCondition['namespaceSelector']>;

export function selectorMatches(selector: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expr.key);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(labels[expr.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[expr.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

function conditionMatches(condition: StoreCondition, namespace: string, labels: Record<string, string>): boolean {
  if (condition.namespaceSelector && selectorMatches(condition.namespaceSelector, labels)) return true;
  if (condition.namespaces?.includes(namespace)) return true;
  for (const pattern of condition.namespaceRegexes ?? []) {
    try {
      if (compileLinear(`^(?:${pattern})$`, 'namespaceRegexes').test(namespace)) return true;
    } catch {
      // An invalid pattern admits nothing; the store reconciler reports it.
    }
  }
  return false;
}

export function namespaceAdmitted(
  conditions: StoreCondition[] | undefined,
  namespace: string,
  labels: Record<string, string>,
): boolean {
  if (!conditions || conditions.length === 0) return true;
  return conditions.some((c) => conditionMatches(c, namespace, labels));
}

/** Problems with the conditions themselves (bad regexes). */
export function conditionProblems(conditions: StoreCondition[] | undefined): string[] {
  const problems: string[] = [];
  conditions?.forEach((c, i) =>
    c.namespaceRegexes?.forEach((pattern, j) => {
      try {
        compileLinear(pattern, `conditions[${i}].namespaceRegexes[${j}]`);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }),
  );
  return problems;
}
