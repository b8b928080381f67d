import { describe, expect, it } from 'vitest';
import { conditionProblems, namespaceAdmitted } from '../../src/secrets/namespace-conditions.js';

describe('ClusterSecretStore conditions', () => {
  it('no conditions admit every namespace', () => {
    expect(namespaceAdmitted(undefined, 'any', {})).toBe(true);
    expect(namespaceAdmitted([], 'any', {})).toBe(true);
  });

  it('matches by name list, label selector or anchored regex', () => {
    const conditions = [
      { namespaces: ['team-b'] },
      { namespaceSelector: { matchLabels: { tier: 'prod' }, matchExpressions: [{ key: 'quarantine', operator: 'DoesNotExist' as const }] } },
      { namespaceRegexes: ['team-a'] },
    ];
    expect(namespaceAdmitted(conditions, 'team-b', {})).toBe(true);
    expect(namespaceAdmitted(conditions, 'x', { tier: 'prod' })).toBe(true);
    expect(namespaceAdmitted(conditions, 'x', { tier: 'prod', quarantine: 'yes' })).toBe(false);
    expect(namespaceAdmitted(conditions, 'team-a', {})).toBe(true);
    expect(namespaceAdmitted(conditions, 'team-a-evil', {})).toBe(false);
    expect(namespaceAdmitted(conditions, 'evil-team-a', {})).toBe(false);
  });

  it('In / NotIn / Exists', () => {
    const c = [{ namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['a', 'b'] }, { key: 'x', operator: 'NotIn' as const, values: ['1'] }, { key: 'team', operator: 'Exists' as const }] } }];
    expect(namespaceAdmitted(c, 'n', { env: 'a', team: 't' })).toBe(true);
    expect(namespaceAdmitted(c, 'n', { env: 'c', team: 't' })).toBe(false);
    expect(namespaceAdmitted(c, 'n', { env: 'a', team: 't', x: '1' })).toBe(false);
    expect(namespaceAdmitted(c, 'n', { env: 'a' })).toBe(false);
  });

  it('reports invalid regexes', () => {
    expect(conditionProblems([{ namespaceRegexes: ['('] }])).toEqual([expect.stringMatching(/^conditions\[0\]\.namespaceRegexes\[0\] is not a valid RE2 regular expression/)]);
    // Backreferences would need backtracking: refused, not run.
    expect(conditionProblems([{ namespaceRegexes: ['(a)\\1'] }])).toHaveLength(1);
  });

  it('matches in linear time: a pattern that backtracks for minutes on V8 answers within the test timeout', () => {
    expect(namespaceAdmitted([{ namespaceRegexes: ['(a|a)*'] }], `${'a'.repeat(32)}b`, {})).toBe(false);
  });
});
