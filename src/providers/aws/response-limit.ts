// Cuts AWS answers off at MAX_RESPONSE_BYTES while they stream in: the SDK
// would otherwise buffer and parse a hostile answer of any size. A middleware
// at the innermost deserialize position sees the raw HTTP body before the SDK
// collects it.
import { Transform, type Readable } from 'node:stream';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MAX_RESPONSE_BYTES, tooLargeAnswer } from '../response-limit.js';

interface RawResponse {
  headers: Record<string, string | undefined>;
  body?: Readable;
}

function limited(body: Readable, limit: number): Readable {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.byteLength;
      if (size > limit) {
        body.destroy();
        done(tooLargeAnswer('AWS Secrets Manager', limit));
      } else done(null, chunk);
    },
  });
  body.on('error', (err) => counter.destroy(err));
  return body.pipe(counter);
}

export function limitResponses(client: SecretsManagerClient, limit = MAX_RESPONSE_BYTES): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as RawResponse;
      const declared = Number(response.headers['content-length'] ?? 0);
      if (declared > limit) {
        response.body?.destroy();
        throw tooLargeAnswer('AWS Secrets Manager', limit);
      }
      if (response.body) response.body = limited(response.body, limit);
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'secretsyncResponseLimit' },
  );
}
