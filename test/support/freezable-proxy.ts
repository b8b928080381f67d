// A TCP proxy on 127.0.0.1 in front of a real server that can go silent:
// after freeze(), open connections stop passing bytes and new connections are
// accepted but never answered, as with a half-dead peer or a dropped NAT
// entry. Nothing is refused, so only a deadline or a watchdog can end the wait.
import { connect, createServer, type Socket } from 'node:net';

export interface FreezableProxy {
  port: number;
  /** Connections accepted since the freeze (a client is waiting on us). */
  readonly waitingSinceFreeze: number;
  /** Silences open connections; new ones hang too, unless only 'open' ones are frozen. */
  freeze(which?: 'all' | 'open'): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(targetHost: string, targetPort: number): Promise<FreezableProxy> {
  const open = new Set<{ client: Socket; upstream?: Socket }>();
  let hangNew = false;
  let waiting = 0;
  const server = createServer((client) => {
    const pair: { client: Socket; upstream?: Socket } = { client };
    open.add(pair);
    client.on('close', () => open.delete(pair)).on('error', () => open.delete(pair));
    if (hangNew) {
      waiting++;
      return; // accepted, never answered
    }
    const upstream = connect(targetPort, targetHost);
    pair.upstream = upstream;
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get waitingSinceFreeze() {
      return waiting;
    },
    freeze(which = 'all') {
      hangNew = which === 'all';
      for (const { client, upstream } of open) {
        if (!upstream) continue;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        // Bytes a client sends now count as waiting, too.
        client.once('readable', () => waiting++);
      }
    },
    close() {
      for (const { client, upstream } of open) {
        client.destroy();
        upstream?.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
