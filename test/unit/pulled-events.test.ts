// Reading the pulled change events: Secrets Manager's as EventBridge delivers them
// to SQS, and Secret Manager's Pub/Sub notifications.
import { describe, expect, it } from 'vitest';
import { changedSecretIds, secretKeysOf } from '../../src/refresh-events/aws-sqs.js';
import { gcpSecretKeysOf } from '../../src/refresh-events/gcp-pubsub.js';

const event = (eventName: string, detail: object = {}, source = 'aws.secretsmanager') =>
  JSON.stringify({ source, 'detail-type': 'AWS API Call via CloudTrail', detail: { eventSource: 'secretsmanager.amazonaws.com', eventName, ...detail } });

describe('changedSecretIds', () => {
  it('takes the secret id of the calls that change a value, from the request or (rotation) the additional data', () => {
    expect(changedSecretIds(event('PutSecretValue', { requestParameters: { secretId: 'team/db' } }))).toEqual(['team/db']);
    expect(changedSecretIds(event('UpdateSecretVersionStage', { requestParameters: { secretId: 'x' } }))).toEqual(['x']);
    expect(changedSecretIds(event('RotationSucceeded', { additionalEventData: { SecretId: 'y' } }))).toEqual(['y']);
  });
  it('ignores calls that change no value, and refuses what is not a Secrets Manager event', () => {
    expect(changedSecretIds(event('GetSecretValue', { requestParameters: { secretId: 'x' } }))).toEqual([]);
    expect(changedSecretIds(event('PutSecretValue', { requestParameters: { secretId: 'x' } }, 'aws.s3'))).toBeUndefined();
    expect(changedSecretIds(event('PutSecretValue'))).toBeUndefined();
    expect(changedSecretIds('not json')).toBeUndefined();
  });
});

describe('secretKeysOf', () => {
  it('an ARN is also the name without its six-character suffix; a name is itself', () => {
    expect(secretKeysOf('arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/db-AbC123')).toEqual(['arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/db-AbC123', 'team/db']);
    expect(secretKeysOf('team/db')).toEqual(['team/db']);
  });
});

describe('gcpSecretKeysOf', () => {
  it('a Pub/Sub secretId is also the short name an ExternalSecret uses', () => {
    expect(gcpSecretKeysOf('projects/p/secrets/db')).toEqual(['db', 'projects/p/secrets/db']);
    expect(gcpSecretKeysOf('projects/p/locations/eu/secrets/db')).toEqual(['db', 'projects/p/locations/eu/secrets/db']);
  });
});
