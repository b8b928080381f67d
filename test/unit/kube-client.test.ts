import { describe, expect, it } from 'vitest';
import { KubeApiError, resourceOf, verbOf } from '../../src/kube/client.js';

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

describe('verbOf', () => {
  it.each([
    ['GET', '/api/v1/namespaces/ns/secrets/s', 'GET'],
    ['GET', '/api/v1/namespaces/ns/secrets?limit=500', 'LIST'],
    ['GET', '/api/v1/namespaces/ns', 'GET'],
    ['GET', '/api/v1/namespaces', 'LIST'],
    ['GET', '/apis/secretsync.dev/v1alpha1/clustersecretstores', 'LIST'],
    ['GET', '/apis/secretsync.dev/v1alpha1/namespaces/ns/externalsecrets/es/status', 'GET'],
    ['PATCH', '/apis/secretsync.dev/v1alpha1/namespaces/ns/externalsecrets/es/status', 'PATCH'],
  ])('%s %s -> %s', (method, path, verb) => expect(verbOf(method, path)).toBe(verb));
});

describe('API server messages', () => {
  it.each([
    ['Secret "s" is invalid: metadata.labels: Invalid value: "canary \\"quoted\\" value!": a valid label must be an empty string or consist of alphanumeric characters',
      'Secret "s" is invalid: metadata.labels: Invalid value: (value hidden): a valid label must be an empty string or consist of alphanumeric characters'],
    ['Secret "s" is invalid: [metadata.annotations: Invalid value: "a b": name part must consist of alphanumeric characters, type: Unsupported value: "x y"]',
      'Secret "s" is invalid: [metadata.annotations: Invalid value: (value hidden): name part must consist of alphanumeric characters, type: Unsupported value: (value hidden)]'],
    ['spec.replicas: Invalid value: -1: must be greater than or equal to 0', 'spec.replicas: Invalid value: (value hidden): must be greater than or equal to 0'],
    ['secrets "db" already exists', 'secrets "db" already exists'],
  ])('hides the values the API server echoes: %s', (message, shown) => {
    expect(new KubeApiError(422, 'Invalid', message).message).toBe(shown);
  });
});
