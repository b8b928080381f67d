// An HTTP proxy in front of moto, on 127.0.0.1: counts the Secrets Manager and
// STS calls that really reach the server (by X-Amz-Target / Action), can
// answer with throttling errors, as AWS does under load, and refuses the
// access keys it is told to, as IAM would (moto does not enforce IAM).
import { createServer, request, type Server } from 'node:http';

export interface AwsProxy {
  url: string;
  /** Calls seen, by operation name. */
  calls: Map<string, number>;
  /** STS AssumeRole* calls in order: the operation, the role and the access key that signed it (none for web identity). */
  assumed: Array<{ op: string; role: string; signedBy?: string }>;
  total(): number;
  /** Answer the next n Secrets Manager calls with ThrottlingException (HTTP 400) or HTTP 429. */
  throttle(n: number, how?: 'ThrottlingException' | '429'): void;
  /** Requests signed with this access key id get AccessDeniedException. */
  deny(accessKeyId: string): void;
  /** Calls of this operation get AccessDeniedException, as with a policy that does not grant it (undefined: none). */
  denyOperation(op: string | undefined): void;
  close(): Promise<void>;
}

export async function startAwsProxy(target: string): Promise<AwsProxy> {
  const upstream = new URL(target);
  const calls = new Map<string, number>();
  const assumed: AwsProxy['assumed'] = [];
  let throttleLeft = 0;
  let throttleHow: 'ThrottlingException' | '429' = 'ThrottlingException';
  const denied = new Set<string>();
  let deniedOperation: string | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = String(req.headers['x-amz-target'] ?? '');
      const op = amzTarget ? amzTarget.split('.').pop()! : (new URLSearchParams(body.toString()).get('Action') ?? 'other');
      calls.set(op, (calls.get(op) ?? 0) + 1);
      const keyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
      if (op.startsWith('AssumeRole')) assumed.push({ op, role: new URLSearchParams(body.toString()).get('RoleArn') ?? '', signedBy: keyId });
      if ((keyId && denied.has(keyId)) || (amzTarget && op === deniedOperation)) {
        // Secrets Manager speaks JSON; STS speaks the query protocol and answers in XML.
        if (amzTarget) {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'AccessDeniedException', message: `User ${keyId} is not authorized to perform: secretsmanager:${op}` }));
        } else {
          res.writeHead(403, { 'content-type': 'text/xml' }).end(
            `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User ${keyId} is not authorized to perform: sts:${op}</Message></Error><RequestId>0</RequestId></ErrorResponse>`,
          );
        }
        return;
      }
      if (amzTarget.startsWith('secretsmanager.') && throttleLeft > 0) {
        throttleLeft--;
        if (throttleHow === '429') {
          res.writeHead(429, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'TooManyRequestsException', message: 'Too Many Requests' }));
        } else {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
        }
        return;
      }
      const forward = request(
        { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    assumed,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    throttle(n, how = 'ThrottlingException') {
      throttleLeft = n;
      throttleHow = how;
    },
    deny(accessKeyId) {
      denied.add(accessKeyId);
    },
    denyOperation(op) {
      deniedOperation = op;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
