// A TCP proxy on 127.0.0.1 in front of a real server that flaps: while it is
// "down", every connection (open or new) is reset at once, as with a provider
// that crashes and restarts or a load balancer cycling a bad backend.
import { connect, createServer, type Socket } from 'node:net';

export interface FlappingProxy {
  port: number;
  /** Connections reset while down. */
  readonly resets: number;
  /** Flips between down and up every `periodMs` until stop(). */
  flap(periodMs: number): void;
  /** Steady and up again. */
  stop(): void;
  close(): Promise<void>;
}

export async function startFlappingProxy(targetHost: string, targetPort: number): Promise<FlappingProxy> {
  const open = new Set<Socket>();
  let down = false;
  let resets = 0;
  let timer: NodeJS.Timeout | undefined;
  const server = createServer((client) => {
    if (down) {
      resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    client.on('close', () => open.delete(client)).on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const goDown = () => {
    down = true;
    for (const socket of open) {
      resets++;
      socket.resetAndDestroy();
    }
    open.clear();
  };
  return {
    port: (server.address() as { port: number }).port,
    get resets() {
      return resets;
    },
    flap(periodMs) {
      timer = setInterval(() => (down ? (down = false) : goDown()), periodMs);
    },
    stop() {
      clearInterval(timer);
      down = false;
    },
    async close() {
      clearInterval(timer);
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
