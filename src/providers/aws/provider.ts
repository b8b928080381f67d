// The `aws` provider: AWS Secrets Manager through @aws-sdk/client-secrets-manager.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { Provider } from '../provider.js';
import { AwsClient } from './client.js';
import { guardedHandler, storeCredentials } from './credentials.js';
import { limitResponses } from './response-limit.js';

export const awsProvider: Provider = {
  name: 'aws',
  capabilities: 'ReadWrite',
  // auth.jwt without aws.role takes the role from the ServiceAccount's annotation, known only when it is read.
  validateStore: () => [],
  newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.aws!;
    const requestHandler = guardedHandler(connectGuard);
    const credentials = storeCredentials(spec, kube, namespace, `secretsync-${store.metadata.name}`.slice(0, 64), requestHandler);
    // One attempt per call: retries go through the controller's backoff and the store's call budget.
    const common = { region: spec.region, endpoint: spec.endpoint, credentials, maxAttempts: 1, requestHandler };
    const sm = new SecretsManagerClient(common);
    limitResponses(sm);
    return Promise.resolve(new AwsClient(sm, new STSClient(common)));
  },
};
