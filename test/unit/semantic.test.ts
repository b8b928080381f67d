// The operator's own checks of a spec (also what `secretsync validate` runs on files).
import { describe, expect, it } from 'vitest';
import { externalSecretProblems } from '../../src/validation/semantic.js';

describe('externalSecretProblems', () => {
  it('checks rewrite transform templates as it checks target templates', async () => {
    const problems = await externalSecretProblems({
      secretStoreRef: { name: 's' },
      dataFrom: [{ extract: { key: 'k' }, rewrite: [{ regexp: { source: '^a', target: 'b' } }, { transform: { template: '{{ value | nosuchfilter }}' } }] }],
    });
    expect(problems).toEqual([{ path: 'spec.dataFrom[0].rewrite[1].transform.template', reason: 'TemplateError', message: expect.stringContaining('undefined filter: nosuchfilter') as string }]);
  });
});
