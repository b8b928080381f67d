// Which Secrets a Pod template reads, and the value a restart writes for them.
import { describe, expect, it } from 'vitest';
import { secretsReferenced } from '../../src/controllers/externalsecret/pod-secret-refs.js';
import { restartedFor } from '../../src/controllers/externalsecret/workload-restarts.js';

describe('secretsReferenced', () => {
  it('finds env, envFrom, secret and projected volumes in every kind of container; not image pull Secrets or ConfigMaps', () => {
    const refs = secretsReferenced({
      containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'a' } } }, {}], envFrom: [{ secretRef: { name: 'b' } }, {}] }],
      initContainers: [{ envFrom: [{ secretRef: { name: 'c' } }] }],
      ephemeralContainers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'd' } } }] }],
      volumes: [{ secret: { secretName: 'e' } }, { projected: { sources: [{ secret: { name: 'f' } }, {}] } }, {}],
      ...({ imagePullSecrets: [{ name: 'pull' }] } as object),
    });
    expect([...refs].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(secretsReferenced(undefined).size).toBe(0);
  });
});

describe('restartedFor', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef');
  it('is the same for the same data in any order, different for other data or another key, and shows no hash as given', () => {
    const a = { secret: 'a', dataHash: 'h1' };
    const b = { secret: 'b', dataHash: 'h2' };
    expect(restartedFor(key, [a, b])).toBe(restartedFor(key, [b, a]));
    expect(restartedFor(key, [a, b])).not.toBe(restartedFor(key, [a, { secret: 'b', dataHash: 'h3' }]));
    expect(restartedFor(key, [a])).not.toBe(restartedFor(Buffer.from('another key'), [a]));
    expect(restartedFor(key, [a])).toMatch(/^[0-9a-f]{32}$/);
  });
});
