// An HTTPS proxy in front of the kube-apiserver, on 127.0.0.1 with the test
// CA: counts the requests that reach the API server (the conformance suite's
// "counted at the server"), and can answer 429 with Retry-After, as the API
// server's priority and fairness does when a flow's queue is full.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { testTls } from '../servers/shared/tls.js';

export interface KubeProxy {
  url: string;
  requests: number;
  /** Answer 429 (Retry-After: 1) until the returned function is called. */
  throttle(): () => void;
  close(): Promise<void>;
}

const FORWARDED = ['authorization', 'accept', 'content-type'];

export async function startKubeProxy(apiServer: string, apiCa: string, tlsDir: string): Promise<KubeProxy> {
  const tls = testTls(tlsDir);
  const upstream = new Agent({ connect: { ca: apiCa } });
  let throttled = false;
  const proxy: KubeProxy = {
    url: '',
    requests: 0,
    throttle() {
      throttled = true;
      return () => void (throttled = false);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => void upstream.close().then(() => resolve()));
    }),
  };
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    proxy.requests++;
    if (throttled) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      return res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Too many requests, please try again later.', reason: 'TooManyRequests', code: 429 }));
    }
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    request(`${apiServer}${req.url ?? '/'}`, { method: req.method as 'GET', headers, body: hasBody ? req : undefined, dispatcher: upstream })
      .then(async (up) => {
        res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
        for await (const chunk of up.body) res.write(chunk);
        res.end();
      })
      .catch((err: unknown) => {
        res.writeHead(502);
        res.end(String(err));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
