// Refresh on provider events, through the signed webhook against OpenBao and
// through EventBridge and SQS against moto, Event Grid against the test Entra
// ID and Key Vault, and Pub/Sub against the test Secret Manager and Pub/Sub:
// an event for a remote key refreshes exactly the ExternalSecrets that read
// it, within seconds instead of at the next scheduled refresh; a storm of
// events costs one provider read; a forged, replayed, stale or unknown event
// causes none. Reads are counted in OpenBao's audit log.
import { randomBytes, randomUUID } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { v1 } from '@google-cloud/pubsub';
import NodeVault from 'node-vault';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ExternalSecretSpec } from '../../src/api/types.js';
import { signRefresh } from '../../src/refresh-events/webhook.js';
import { azureTestEnv, servicePrincipal } from '../support/azure.js';
import { gcpTestEnv, serviceAccountKey } from '../support/gcp.js';
import { openbaoRequestPaths } from '../support/openbao-audit.js';
import { Resources } from '../../src/kube/types.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, getSecret, kube, newNamespace, providerEnv, startOperator, stateDir, waitFor, waitForReady,
} from './harness.js';

const env = () => providerEnv();
const vault = () => NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN });
const KEY = randomBytes(32);

async function setup() {
  const ns = await newNamespace();
  await createCredentialSecret(ns, 'vault-token', { token: env().VAULT_TOKEN! });
  await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
  // The signing key, in a Secret of the operator's namespace.
  const keySecret = `webhook-${ns}`;
  await kube().create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: keySecret, namespace: 'secretsync-system' }, data: { key: KEY.toString('base64') } });
  onTestFinished(() => kube().delete(Resources.Secret, 'secretsync-system', keySecret));
  const op = await startOperator({
    watchNamespace: ns,
    refreshEvents: { windowMs: 500, webhook: { port: 0, bindAddress: '127.0.0.1', keySecret: { namespace: 'secretsync-system', name: keySecret } } },
  });
  onTestFinished(() => op.stop());
  const url = `http://127.0.0.1:${op.operator.webhookPort}/hooks/refresh`;
  const send = async (event: object, opts: { key?: Uint8Array; timestamp?: number; signature?: string } = {}) => {
    const body = JSON.stringify(event);
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Secretsync-Timestamp': String(timestamp), 'X-Secretsync-Signature': opts.signature ?? signRefresh(opts.key ?? KEY, timestamp, body) },
      body,
    });
    return { status: res.status, text: await res.text() };
  };
  const events = (result: string) => op.operator.metrics.refreshEvents.get().then((m) => m.values.find((v) => v.labels.source === 'webhook' && v.labels.result === result)?.value ?? 0);
  return { ns, send, events };
}

/**
 * OpenBao read requests for a KV v2 key, data and metadata. One read of a changed value by an
 * operator that holds the old one is 2: the version check (metadata) and the value (data).
 */
const reads = (path: string) => openbaoRequestPaths(stateDir(), 'read').filter((p) => p === `secret/data/${path}` || p === `secret/metadata/${path}`).length;
const ONE_READ = 2;
const esSpec = (key: string): ExternalSecretSpec => ({ refreshInterval: '1h', secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'password', remoteRef: { key, property: 'password' } }] });

describe('refresh on provider events: the signed webhook', () => {
  it('an event refreshes the ExternalSecrets that read the key within seconds, not at their hourly refresh; the others stay', async () => {
    const { ns, send } = await setup();
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'one' } });
    await vault().write(`secret/data/${ns}/other`, { data: { password: 'x' } });
    await createExternalSecret(ns, 'a', esSpec(`${ns}/db`));
    await createExternalSecret(ns, 'b', esSpec(`${ns}/db`));
    await createExternalSecret(ns, 'c', esSpec(`${ns}/other`));
    for (const n of ['a', 'b', 'c']) await waitForReady(ns, n);
    const otherBefore = (await getSecret(ns, 'c'))!.metadata.resourceVersion;
    const readsBefore = reads(`${ns}/db`);

    await vault().write(`secret/data/${ns}/db`, { data: { password: 'two' } });
    const t0 = Date.now();
    const res = await send({ id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` });
    expect(res).toEqual({ status: 202, text: '{"result":"accepted"}\n' });
    for (const n of ['a', 'b']) await waitFor(`${n} to hold the new value`, async () => decoded(await getSecret(ns, n)).password === 'two', 5_000);
    console.log(`webhook event to updated Secrets: ${Date.now() - t0} ms`);
    // Both ExternalSecrets shared one read; the one reading another key was not touched.
    expect(reads(`${ns}/db`) - readsBefore).toBe(ONE_READ);
    expect((await getSecret(ns, 'c'))!.metadata.resourceVersion).toBe(otherBefore);
  });

  it('a storm of 200 events for one key within the window costs one provider read', async () => {
    const { ns, send, events } = await setup();
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'one' } });
    await createExternalSecret(ns, 'a', esSpec(`${ns}/db`));
    await waitForReady(ns, 'a');
    const before = reads(`${ns}/db`);
    const accepted = await events('accepted');
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'two' } });
    // One after another, so the storm lasts while reads could be made: the window, not the queue, makes it one.
    const started = Date.now();
    for (let i = 0; i < 200; i++) expect((await send({ id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` })).status).toBe(202);
    expect(Date.now() - started, 'the storm outlasted a read').toBeGreaterThan(50);
    await waitFor('the new value', async () => decoded(await getSecret(ns, 'a')).password === 'two', 5_000);
    expect(await events('accepted')).toBe(accepted + 200);
    expect(reads(`${ns}/db`) - before).toBe(ONE_READ);
  });

  it('forged, stale, replayed, malformed and unknown events are refused or ignored, counted, and cause no read', async () => {
    const { ns, send, events } = await setup();
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'one' } });
    await createExternalSecret(ns, 'a', esSpec(`${ns}/db`));
    await waitForReady(ns, 'a');
    const before = reads(`${ns}/db`);
    const counts = { unauthenticated: await events('unauthenticated'), replayed: await events('replayed'), malformed: await events('malformed'), unknown: await events('unknown') };
    const event = { id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` };

    expect((await send(event, { key: randomBytes(32) })).status).toBe(401); // wrong key
    expect((await send(event, { signature: 'sha256=00' })).status).toBe(401); // not a signature
    expect((await send(event, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(401); // 10 minutes old
    expect((await send({ ...event, id: undefined })).status).toBe(400); // no id
    expect((await send({ id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/nobody-reads-this` })).text).toContain('unknown');
    expect((await send({ id: randomUUID(), namespace: 'elsewhere', store: 'vault', key: `${ns}/db` })).text).toContain('unknown');
    // The same request twice: the second is a replay.
    const replayed = { id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/unknown-too` };
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await send(replayed, { timestamp })).status).toBe(202);
    expect((await send(replayed, { timestamp })).status).toBe(409);

    expect(await events('unauthenticated')).toBe(counts.unauthenticated + 2);
    expect(await events('replayed')).toBe(counts.replayed + 2);
    expect(await events('malformed')).toBe(counts.malformed + 1);
    expect(await events('unknown')).toBe(counts.unknown + 3);
    // Give a wrongly accepted event its window and a read: none came.
    const probe = { id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` };
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'two' } });
    expect((await send(probe)).status).toBe(202);
    await waitFor('the accepted event to land', async () => decoded(await getSecret(ns, 'a')).password === 'two', 5_000);
    expect(reads(`${ns}/db`) - before).toBe(ONE_READ);
  });
});

describe('refresh on provider events: AWS Secrets Manager through EventBridge and SQS (moto)', () => {
  const aws = { endpoint: () => env().AWS_ENDPOINT_URL!, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const client = <T>(C: new (c: object) => T) => new C({ endpoint: aws.endpoint(), region: aws.region, credentials: aws.credentials });

  it('a CloudTrail event routed to the store\'s queue refreshes the ExternalSecret within seconds, by name or ARN; the message is deleted; a foreign message is counted and dropped', async () => {
    const ns = await newNamespace();
    const sqs = client(SQSClient);
    const eb = client(EventBridgeClient);
    const sm = client(SecretsManagerClient);
    // What an account sets up once: a queue, and a rule sending Secrets Manager's events to it.
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `secretsync-${ns}` }))).QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await eb.send(new PutRuleCommand({ Name: `secretsync-${ns}`, EventPattern: JSON.stringify({ source: ['aws.secretsmanager'] }) }));
    await eb.send(new PutTargetsCommand({ Rule: `secretsync-${ns}`, Targets: [{ Id: 'queue', Arn: queueArn }] }));
    onTestFinished(async () => {
      await eb.send(new RemoveTargetsCommand({ Rule: `secretsync-${ns}`, Ids: ['queue'] }));
      await eb.send(new DeleteRuleCommand({ Name: `secretsync-${ns}` }));
    });
    const created = await sm.send(new CreateSecretCommand({ Name: `${ns}/db`, SecretString: JSON.stringify({ password: 'one' }) }));

    const op = await startOperator({ watchNamespace: ns, refreshEvents: { windowMs: 200 } });
    onTestFinished(() => op.stop());
    await createCredentialSecret(ns, 'aws-creds', { id: 'testing', secret: 'testing' });
    await createStore(ns, 'aws', {
      provider: {
        aws: {
          service: 'SecretsManager', region: aws.region, endpoint: aws.endpoint(), events: { sqsQueueURL: queueUrl },
          auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } },
        },
      },
    });
    await createExternalSecret(ns, 'db', { refreshInterval: '1h', secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'password', remoteRef: { key: `${ns}/db`, property: 'password' } }] });
    await waitForReady(ns, 'db');
    const events = (result: string) => op.operator.metrics.refreshEvents.get().then((m) => m.values.find((v) => v.labels.source === 'aws-sqs' && v.labels.result === result)?.value ?? 0);
    /** CloudTrail's part, which moto does not play: the event EventBridge gets for an API call. */
    const cloudTrail = (eventName: string, detail: object) => eb.send(new PutEventsCommand({
      Entries: [{ Source: 'aws.secretsmanager', DetailType: 'AWS API Call via CloudTrail', Detail: JSON.stringify({ eventSource: 'secretsmanager.amazonaws.com', eventName, ...detail }) }],
    }));

    await sm.send(new PutSecretValueCommand({ SecretId: `${ns}/db`, SecretString: JSON.stringify({ password: 'two' }) }));
    let t0 = Date.now();
    await cloudTrail('PutSecretValue', { requestParameters: { secretId: created.ARN } });
    await waitFor('the new value', async () => decoded(await getSecret(ns, 'db')).password === 'two', 10_000, 100);
    console.log(`SQS event (by ARN) to updated Secret: ${Date.now() - t0} ms`);

    await sm.send(new PutSecretValueCommand({ SecretId: `${ns}/db`, SecretString: JSON.stringify({ password: 'three' }) }));
    t0 = Date.now();
    await cloudTrail('RotationSucceeded', { additionalEventData: { SecretId: `${ns}/db` } });
    await waitFor('the rotated value', async () => decoded(await getSecret(ns, 'db')).password === 'three', 10_000, 100);
    console.log(`SQS event (rotation, by name) to updated Secret: ${Date.now() - t0} ms`);
    expect(await events('accepted')).toBe(2);

    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ source: 'aws.s3', detail: {} }) }));
    await waitFor('the foreign message counted', async () => (await events('malformed')) === 1, 30_000, 200);
    await waitFor('the queue emptied', async () =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes
        ?.ApproximateNumberOfMessages === '0', 30_000, 200);
    expect(decoded(await getSecret(ns, 'db')).password).toBe('three');
  });
});

describe('refresh on provider events: Azure Key Vault through Event Grid (the test Entra ID and Key Vault)', () => {
  it('answers the validation handshake, refuses a request without a valid Entra token, and a SecretNewVersionCreated refreshes the ExternalSecret', async () => {
    const azure = await azureTestEnv(env());
    const ns = await newNamespace();
    const AUDIENCE = 'api://secretsync-events';
    // Event Grid's identity: an app that asks Entra for a token for our audience.
    const sender = await servicePrincipal(azure, {});
    const tokenFor = async (scope: string) => {
      const res = await fetch(`${azure.authorityHost}/${azure.tenantId}/oauth2/v2.0/token`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: sender.clientId, client_secret: sender.secret, scope }),
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const keySecret = `webhook-${ns}`;
    await kube().create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: keySecret, namespace: 'secretsync-system' }, data: { key: KEY.toString('base64') } });
    onTestFinished(() => kube().delete(Resources.Secret, 'secretsync-system', keySecret));
    const op = await startOperator({
      watchNamespace: ns,
      refreshEvents: {
        windowMs: 200,
        webhook: { port: 0, bindAddress: '127.0.0.1', keySecret: { namespace: 'secretsync-system', name: keySecret } },
        azureEventGrid: { tenantId: azure.tenantId, audience: AUDIENCE, authorityHost: azure.authorityHost },
      },
    });
    onTestFinished(() => op.stop());
    const deliver = async (events: object[], token?: string) => {
      const res = await fetch(`http://127.0.0.1:${op.operator.webhookPort}/hooks/azure-eventgrid`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'aeg-event-type': 'Notification', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(events),
      });
      return { status: res.status, body: await res.text() };
    };

    // The vault's name is the first label of its host: the test vault is "localhost".
    const reader = await servicePrincipal(azure);
    await createCredentialSecret(ns, 'azure-creds', { clientId: reader.clientId, clientSecret: reader.secret });
    await createStore(ns, 'akv', {
      provider: {
        azurekv: {
          vaultUrl: azure.vaultUrl.replace('127.0.0.1', 'localhost'), tenantId: azure.tenantId,
          authSecretRef: { clientId: { name: 'azure-creds', key: 'clientId' }, clientSecret: { name: 'azure-creds', key: 'clientSecret' } },
        },
      },
    });
    const name = `eg-${ns}`;
    await azure.secrets.setSecret(name, 'one');
    await createExternalSecret(ns, 'app', { refreshInterval: '1h', secretStoreRef: { name: 'akv' }, data: [{ secretKey: 'password', remoteRef: { key: name } }] });
    await waitForReady(ns, 'app');

    const token = await tokenFor(`${AUDIENCE}/.default`);
    const validation = await deliver([{ id: randomUUID(), eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'code-123' } }], token);
    expect(validation).toEqual({ status: 200, body: '{"validationResponse":"code-123"}' });
    const newVersion = (version: string) => [{
      id: randomUUID(), eventType: 'Microsoft.KeyVault.SecretNewVersionCreated', subject: name, eventTime: new Date().toISOString(),
      data: { Id: `${azure.vaultUrl}/secrets/${name}/${version}`, VaultName: 'localhost', ObjectType: 'Secret', ObjectName: name, Version: version },
    }];
    expect((await deliver(newVersion('x'))).status, 'no token').toBe(401);
    expect((await deliver(newVersion('x'), await tokenFor('https://vault.azure.net/.default'))).status, 'a token for another audience').toBe(401);
    expect((await deliver(newVersion('x'), `${token.slice(0, -4)}AAAA`)).status, 'a token with a broken signature').toBe(401);

    const updated = await azure.secrets.setSecret(name, 'two');
    const t0 = Date.now();
    expect((await deliver(newVersion(updated.properties.version!), token)).status).toBe(200);
    await waitFor('the new value', async () => decoded(await getSecret(ns, 'app')).password === 'two', 10_000, 100);
    console.log(`Event Grid delivery to updated Secret: ${Date.now() - t0} ms`);
    const count = (result: string) => op.operator.metrics.refreshEvents.get().then((m) => m.values.find((v) => v.labels.source === 'azure-eventgrid' && v.labels.result === result)?.value ?? 0);
    expect(await count('unauthenticated')).toBe(3);
    expect(await count('accepted')).toBe(1);
  });
});

describe('refresh on provider events: Google Secret Manager through Pub/Sub (the test Secret Manager and Pub/Sub)', () => {
  it("a new version announced on the secret's topic refreshes the ExternalSecret within seconds; the message is acknowledged", async () => {
    const gcp = await gcpTestEnv(env());
    onTestFinished(() => gcp.sm.close());
    const ns = await newNamespace();
    const [host, port] = gcp.endpoint.split(':');
    const admin = JSON.parse((await serviceAccountKey(gcp.admin, 'pubsub-admin', ['roles/secretmanager.admin'])).json) as { client_email: string; private_key: string };
    const options = { apiEndpoint: host, port: Number(port), projectId: gcp.project, credentials: { client_email: admin.client_email, private_key: admin.private_key } };
    const publisher = new v1.PublisherClient(options);
    const subscriber = new v1.SubscriberClient(options);
    onTestFinished(async () => {
      await publisher.close();
      await subscriber.close();
    });
    // What a project sets up once: the secrets' notification topic and a pull subscription on it.
    const topic = `projects/${gcp.project}/topics/secrets-${ns}`;
    const subscription = `projects/${gcp.project}/subscriptions/secretsync-${ns}`;
    await publisher.createTopic({ name: topic });
    await subscriber.createSubscription({ name: subscription, topic, ackDeadlineSeconds: 10 });
    const id = `pubsub-${ns}`;
    await gcp.sm.createSecret({ parent: `projects/${gcp.project}`, secretId: id, secret: { replication: { automatic: {} }, topics: [{ name: topic }] } });
    await gcp.sm.addSecretVersion({ parent: `projects/${gcp.project}/secrets/${id}`, payload: { data: Buffer.from('one') } });

    const op = await startOperator({ watchNamespace: ns, refreshEvents: { windowMs: 200 } });
    onTestFinished(() => op.stop());
    const reader = await serviceAccountKey(gcp.admin, 'reader', ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']);
    await createCredentialSecret(ns, 'gcp-key', { 'key.json': reader.json });
    await createStore(ns, 'gcp', {
      provider: { gcpsm: { projectID: gcp.project, endpoint: gcp.endpoint, events: { subscription, endpoint: gcp.endpoint }, auth: { secretRef: { secretAccessKeySecretRef: { name: 'gcp-key', key: 'key.json' } } } } },
    });
    await createExternalSecret(ns, 'app', { refreshInterval: '1h', secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'password', remoteRef: { key: id } }] });
    await waitForReady(ns, 'app');

    const t0 = Date.now();
    await gcp.sm.addSecretVersion({ parent: `projects/${gcp.project}/secrets/${id}`, payload: { data: Buffer.from('two') } });
    await waitFor('the new value', async () => decoded(await getSecret(ns, 'app')).password === 'two', 15_000, 100);
    console.log(`Pub/Sub notification to updated Secret: ${Date.now() - t0} ms`);
    const accepted = await op.operator.metrics.refreshEvents.get().then((m) => m.values.find((v) => v.labels.source === 'gcp-pubsub' && v.labels.result === 'accepted')?.value ?? 0);
    // Two: the first version's notification was still queued when the operator started.
    expect(accepted).toBe(2);
    // Acknowledged: nothing is left to deliver, even once the ack deadline has passed.
    await op.stop();
    const [left] = await subscriber.pull({ subscription, maxMessages: 10, returnImmediately: true });
    expect(left.receivedMessages ?? []).toEqual([]);
  });
});
