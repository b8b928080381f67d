// The connect-time guard's hooks, on real loopback sockets: the lookup refuses
// a name that resolves into a denied range before any connection, and an IP
// literal (which never goes through lookup) is refused on connecting, before
// a byte of the request is written.
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectGuard } from '../../src/providers/connect-guard.js';
import { HostNotAllowedError } from '../../src/providers/errors.js';
import { parseHostPolicy } from '../../src/providers/host-policy.js';

const policy = parseHostPolicy('127.0.0.2/32');
const answers = (...addresses: string[]) => () => Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

describe('ConnectGuard', () => {
  it('looks up as dns.lookup does (one address, all, by family) and refuses a name with any denied address', async () => {
    const guard = new ConnectGuard(policy, 'namespaced SecretStores', answers('127.0.0.1', '::1'));
    const lookup = (options: object) => new Promise<unknown[]>((resolve) => guard.lookup('vault.example', options, (...args: unknown[]) => resolve(args)));
    expect(await lookup({})).toEqual([null, '127.0.0.1', 4]);
    expect(await lookup({ family: 6 })).toEqual([null, '::1', 6]);
    expect(await lookup({ all: true })).toEqual([null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]]);
    const rebound = new ConnectGuard(policy, 'generators', answers('127.0.0.1', '127.0.0.2'));
    const [err] = await new Promise<unknown[]>((resolve) => rebound.lookup('vault.example', {}, (...args: unknown[]) => resolve(args)));
    expect(err).toBeInstanceOf(HostNotAllowedError);
    expect((err as Error).message).toBe('HostNotAllowed: vault.example now resolves to 127.0.0.2, in the 127.0.0.2/32 range, which generators may not use (operator flag --deny-store-hosts 127.0.0.2/32); the connection was refused');
  });

  it('an http.Agent refuses a connection to a denied IP literal before writing the request', async () => {
    const received: Buffer[] = [];
    let connections = 0;
    let closed = 0;
    const server = createServer((socket) => {
      connections++;
      socket.on('data', (chunk: Buffer) => received.push(chunk)).on('close', () => closed++);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    const { port } = server.address() as AddressInfo;
    const guard = new ConnectGuard(policy, 'namespaced SecretStores', answers());
    const err = await new Promise<Error>((resolve) => get(`http://127.0.0.2:${port}/secret`, { agent: guard.httpAgent() }, () => resolve(new Error('answered'))).on('error', resolve));
    expect(err).toBeInstanceOf(HostNotAllowedError);
    // The TCP connection was made (that is how the address is known), then dropped with nothing sent.
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(1);
    expect(connections).toBe(1);
    expect(Buffer.concat(received).length).toBe(0);
    server.close();
  });
});
