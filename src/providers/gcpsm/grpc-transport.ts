// Secret Manager through the official client over gRPC (the default
// transport): its channel resolves through the host guard for a namespaced
// store (guarded-resolver.ts) and refuses answers larger than the limit from
// their length prefix. Imported only when a gcpsm store uses this transport,
// so the gRPC stack loads only then.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { AuthClient } from 'google-auth-library';
import type { ConnectGuard } from '../connect-guard.js';
import { MAX_RESPONSE_BYTES } from '../response-limit.js';
import type { SecretManagerApi } from './api.js';
import { guardedChannel } from './guarded-resolver.js';

export function grpcSecretManager(opts: { apiEndpoint?: string; port?: number; projectId: string; authClient?: AuthClient; guard?: ConnectGuard }): SecretManagerApi {
  return new SecretManagerServiceClient({
    ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint, port: opts.port } : {}),
    projectId: opts.projectId,
    ...(opts.authClient ? { authClient: opts.authClient } : {}),
    // gRPC refuses a larger message from its length prefix, before buffering it.
    'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
    // A namespaced store's channel connects only to addresses the guard allows (its auth's endpoints are Google's or the operator's, not the store's to choose).
    ...(opts.guard ? guardedChannel(opts.guard) : {}),
  });
}
