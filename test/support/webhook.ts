// The webhook test server's address, admin client and store specs for tests
// and the bench: a store reading /api/v1/secrets/{key} with a bearer token
// from a labelled Secret, the value at $.secret.value.
import { readFileSync } from 'node:fs';
import type { SecretStoreSpec } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { Resources, type Secret } from '../../src/kube/types.js';
import { WebhookAdmin } from '../servers/webhook/admin-client.js';

export interface WebhookTestEnv {
  url: string;
  ca: string;
  admin: WebhookAdmin;
}

export function webhookTestEnv(env: Record<string, string>): WebhookTestEnv {
  const url = env.WEBHOOK_TEST_URL!;
  return { url, ca: readFileSync(env.TEST_CA_FILE!, 'utf8'), admin: new WebhookAdmin(url, readFileSync(env.WEBHOOK_TEST_ADMIN_KEY_FILE!, 'utf8').trim(), env.TEST_CA_FILE!) };
}

/** A Secret the webhook templates may use (labelled external-secrets.io/type: webhook unless `labelled` is false). */
export async function webhookSecret(kube: KubeClient, namespace: string, name: string, data: Record<string, string>, labelled = true): Promise<void> {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  await kube.create<Secret>(Resources.Secret, {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: labelled ? { 'external-secrets.io/type': 'webhook' } : {} }, data: encoded,
  });
}

/** The common store: GET {url}/api/v1/secrets/{key}[?version=], Authorization from Secret `auth`, the value at $.secret.value. */
export function webhookStore(env: WebhookTestEnv, overrides: Partial<NonNullable<SecretStoreSpec['provider']['webhook']>> = {}): SecretStoreSpec {
  return {
    provider: {
      webhook: {
        url: `${env.url}/api/v1/secrets/{{ remoteRef.key }}{% if remoteRef.version != "" %}?version={{ remoteRef.version }}{% endif %}`,
        headers: { Authorization: 'Bearer {{ auth.token }}' },
        secrets: [{ name: 'auth', secretRef: { name: 'webhook-auth' } }],
        result: { jsonPath: '$.secret.value' },
        caBundle: env.ca,
        ...overrides,
      },
    },
  };
}
