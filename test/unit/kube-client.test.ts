import { describe, expect, it } from 'vitest';
import { resourceOf } from '../../src/kube/client.js';

describe('resourceOf', () => {
  it.each([
    ['/api/v1/namespaces/ns/secrets/s', 'secrets'],
    ['/api/v1/namespaces/ns/secrets', 'secrets'],
    ['/api/v1/namespaces/ns', 'namespaces'],
    ['/api/v1/namespaces', 'namespaces'],
    ['/apis/secretsync.dev/v1alpha1/namespaces/ns/externalsecrets/es/status', 'externalsecrets/status'],
    ['/apis/secretsync.dev/v1alpha1/clustersecretstores/c/status', 'clustersecretstores/status'],
    ['/api/v1/namespaces/ns/serviceaccounts/sa/token?x=1', 'serviceaccounts/token'],
  ])('%s -> %s', (path, resource) => expect(resourceOf(path)).toBe(resource));
});
