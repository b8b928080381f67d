// An HTTP proxy on 127.0.0.1 in front of a real server (OpenBao) that stalls
// the requests a test picks: held without an answer ('hang', as a provider
// that accepts the call and never answers), or answered late ('slow'). The
// others (a store's login check) pass at once, so the store is Ready and only
// its reads misbehave.
import { request, createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export type Stall = { mode: 'pass' } | { mode: 'hang' } | { mode: 'slow'; delayMs: number };

export interface StallingProxy {
  url: string;
  /** How requests that `stalls` picks are treated from now on (held ones go on when it becomes pass). */
  set(stall: Stall): void;
  /** Requests picked so far (whatever the mode). */
  readonly picked: number;
  close(): Promise<void>;
}

export async function startStallingProxy(target: string, stalls: (req: IncomingMessage) => boolean): Promise<StallingProxy> {
  const upstream = new URL(target);
  let stall: Stall = { mode: 'pass' };
  let picked = 0;
  const held = new Set<() => void>();
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    if (res.destroyed) return;
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    out.end(body);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!stalls(req)) return forward(req, body, res);
      picked++;
      if (stall.mode === 'hang') {
        const go = () => forward(req, body, res);
        held.add(go);
        res.on('close', () => held.delete(go));
        return;
      }
      if (stall.mode === 'slow') return void setTimeout(() => forward(req, body, res), stall.delayMs);
      forward(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get picked() {
      return picked;
    },
    set(next) {
      stall = next;
      if (next.mode === 'hang') return;
      for (const go of held) go();
      held.clear();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
