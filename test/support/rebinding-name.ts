// DNS rebinding on loopback, for the connect-time host guard's tests: a name
// (`localhost`, which the test servers' certificates name) that the test's
// resolver answers with 127.0.0.1 until rebind(), then with 127.0.0.2 (the
// address the test's policy denies). 127.0.0.1:port forwards to a real
// provider server; 127.0.0.2:port only counts who reaches it. rebind() also
// drops the open connections and stops the forwarder, so a client must
// connect again and cannot reuse the old address.
import type { LookupAddress } from 'node:dns';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface RebindingName {
  /** The port both addresses listen on. */
  port: number;
  /** The test's resolver (the guard's `resolve`). */
  resolve(host: string): Promise<LookupAddress[]>;
  /** Names that were resolved, in order. */
  readonly lookups: string[];
  rebind(): void;
  /** Connections that reached the denied address. */
  readonly deniedConnections: number;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

export async function rebindingName(targetHost: string, targetPort: number): Promise<RebindingName> {
  const open = new Set<Socket>();
  const forwarder = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    open.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  let denied = 0;
  const deniedServer = createServer((socket) => {
    denied++;
    socket.destroy();
  });
  const port = await listen(forwarder, '127.0.0.1', 0);
  await listen(deniedServer, '127.0.0.2', port);
  let rebound = false;
  const lookups: string[] = [];
  return {
    port,
    lookups,
    resolve(host) {
      lookups.push(host);
      return Promise.resolve([{ address: rebound ? '127.0.0.2' : '127.0.0.1', family: 4 }]);
    },
    rebind() {
      rebound = true;
      forwarder.close();
      for (const s of open) s.destroy();
    },
    get deniedConnections() {
      return denied;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise((resolve) => forwarder.close(resolve));
      await new Promise((resolve) => deniedServer.close(resolve));
    },
  };
}
