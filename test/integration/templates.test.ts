// Shaping the Secret against the real API server: templates, templateFrom,
// typed Secrets, rewrite, decoding; hostile templates fail safely.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Resources } from '../../src/kube/types.js';
import {
  createExternalSecret, createStore, decoded, events, fakeStoreSpec, getES, getSecret, kube, newNamespace, ready,
  useOperator, waitFor, waitForReady,
} from './harness.js';

const PASSWORD = 'tpl-secret-p4ssw0rd';
// This file's operator runs as its own ServiceAccount with the shipped ClusterRole (templateFrom needs ConfigMap get).
useOperator([PASSWORD], { asServiceAccount: true });

async function setup(extra: Array<{ key: string; value: string }> = []) {
  const ns = await newNamespace();
  await createStore(ns, 'fake', fakeStoreSpec([{ key: 'db', value: JSON.stringify({ user: 'app', password: PASSWORD }) }, ...extra]));
  return ns;
}

async function configMap(namespace: string, name: string, data: Record<string, string>) {
  await kube().create(Resources.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data } as never);
}

describe('templates', () => {
  it('renders template.data, templateFrom (own namespace) and a typed Secret', async () => {
    const ns = await setup();
    await configMap(ns, 'dsn-template', { 'dsn.txt': 'postgres://{{ user }}:{{ password | b64enc }}@db' });
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'fake' },
      dataFrom: [{ extract: { key: 'db' } }],
      target: {
        template: {
          type: 'kubernetes.io/basic-auth',
          metadata: { annotations: { 'rotated-by': '{{ "secretsync" | upper }}' } },
          data: { username: '{{ user }}', password: '{{ password }}' },
          templateFrom: [{ configMap: { name: 'dsn-template', items: [{ key: 'dsn.txt' }] } }],
        },
      },
    });
    await waitForReady(ns, 'es');
    const secret = (await getSecret(ns, 'es'))!;
    expect(secret.type).toBe('kubernetes.io/basic-auth');
    expect(decoded(secret)).toEqual({ username: 'app', password: PASSWORD, 'dsn.txt': `postgres://app:${Buffer.from(PASSWORD).toString('base64')}@db` });
    expect(secret.metadata.annotations?.['rotated-by']).toBe('SECRETSYNC');
  });

  it('templateFrom cannot read a ConfigMap from another namespace', async () => {
    const other = await newNamespace();
    await configMap(other, 'shared-template', { t: '{{ password }}' });
    const ns = await setup();
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'fake' },
      dataFrom: [{ extract: { key: 'db' } }],
      target: { template: { templateFrom: [{ configMap: { name: 'shared-template', items: [{ key: 't' }] } }] } },
    });
    const es = await waitForReady(ns, 'es', 'False', 'TemplateError');
    expect(ready(es)?.message).toBe(`templateFrom: ConfigMap "shared-template" not found in namespace "${ns}"`);
  });

  it('a hostile template times out or fails, leaves the Secret untouched and leaks nothing', async () => {
    const ns = await setup();
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, dataFrom: [{ extract: { key: 'db' } }] });
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!;
    const hostile = [
      '{% for i in (1..100000000) %}{% for j in (1..100000000) %}{{ password }}{% endfor %}{% endfor %}',
      '{% include "/var/run/secrets/kubernetes.io/serviceaccount/token" %}',
      '{{ password | fromjson }}',
    ];
    for (const [i, source] of hostile.entries()) {
      await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { target: { template: { data: { x: source } } } } });
      const es = await waitForReady(ns, 'es', 'False', 'TemplateError');
      expect(ready(es)?.message, `template ${i}`).toMatch(/^template failed: template.data\["x"\]: /);
      expect(JSON.stringify(es.status)).not.toContain(PASSWORD);
    }
    expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    for (const e of await events(ns, 'es')) expect(e.message).not.toContain(PASSWORD);
  });

  it('a typed Secret missing a required key is refused with the key named', async () => {
    const ns = await setup();
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, dataFrom: [{ extract: { key: 'db' } }], target: { template: { type: 'kubernetes.io/tls', data: { 'tls.crt': '{{ user }}' } } } });
    expect(ready(await waitForReady(ns, 'es', 'False', 'InvalidData'))?.message).toBe('a kubernetes.io/tls Secret needs key "tls.key"');
    expect(await getSecret(ns, 'es')).toBeUndefined();
  });

  it('rewrite renames keys; two sources producing one key writes nothing', async () => {
    const ns = await setup([{ key: 'other', value: JSON.stringify({ user: 'x' }) }]);
    await createExternalSecret(ns, 'renamed', {
      secretStoreRef: { name: 'fake' },
      dataFrom: [{ extract: { key: 'db' }, rewrite: [{ regexp: { source: '^(.*)$', target: 'DB_$1' } }, { transform: { template: '{{ value | upper }}' } }] }],
    });
    await waitForReady(ns, 'renamed');
    expect(Object.keys(decoded(await getSecret(ns, 'renamed'))).sort()).toEqual(['DB_PASSWORD', 'DB_USER']);

    await createExternalSecret(ns, 'clash', { secretStoreRef: { name: 'fake' }, dataFrom: [{ extract: { key: 'db' } }, { extract: { key: 'other' } }] });
    expect(ready(await waitForReady(ns, 'clash', 'False', 'InvalidData'))?.message).toBe('two dataFrom entries produce key "user"');
    expect(await getSecret(ns, 'clash')).toBeUndefined();
  });

  it('binary values round-trip exactly through decodingStrategy', async () => {
    const raw = randomBytes(2048);
    const ns = await setup([{ key: 'bin64', value: raw.toString('base64') }, { key: 'binurl', value: raw.toString('base64url') }]);
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'fake' },
      data: [
        { secretKey: 'std', remoteRef: { key: 'bin64', decodingStrategy: 'Base64' } },
        { secretKey: 'url', remoteRef: { key: 'binurl', decodingStrategy: 'Base64URL' } },
        { secretKey: 'auto', remoteRef: { key: 'bin64', decodingStrategy: 'Auto' } },
        { secretKey: 'none', remoteRef: { key: 'bin64', decodingStrategy: 'None' } },
      ],
    });
    await waitForReady(ns, 'es');
    const data = (await getSecret(ns, 'es'))!.data!;
    for (const k of ['std', 'url', 'auto']) expect(Buffer.from(data[k]!, 'base64').equals(raw), k).toBe(true);
    expect(Buffer.from(data.none!, 'base64').toString()).toBe(raw.toString('base64'));
    await waitFor('status', async () => (await getES(ns, 'es')).status?.sources?.length === 4);
  });
});
