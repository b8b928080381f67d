// The host guard at connect time. `--deny-store-hosts` is checked when a
// store's client is made (host-policy.ts), but a name can resolve elsewhere
// later (DNS rebinding: first a public address, then 169.254.169.254 or the
// API server's). So every connection to a tenant-controlled endpoint goes
// through this guard, in each client's own hook:
//   - choosing an address: a dns.lookup that refuses when the name resolves
//     into a denied range (every Node socket: undici, http(s).Agent);
//   - the connection made: the socket's remote address is checked (an IP
//     literal never goes through lookup), before the request is written to
//     it for http(s).Agent, and before undici is handed the socket;
//   - gRPC resolves through a resolver of ours (gcpsm/guarded-resolver.ts).
// A refusal is HostNotAllowedError (Ready=False HostNotAllowed).
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildConnector } from 'undici';
import { HostNotAllowedError } from './errors.js';
import { systemResolve, type HostPolicy, type Resolve } from './host-policy.js';

type LookupCallback = (err: Error | null, address?: string | LookupAddress[], family?: number) => void;

export class ConnectGuard {
  /** dns.lookup's shape over resolve(), for net.connect, tls.connect and undici. */
  readonly lookup: LookupFunction;

  constructor(
    private readonly policy: HostPolicy,
    /** The kind of object whose endpoints these are, in messages. */
    private readonly who: 'namespaced SecretStores' | 'generators',
    private readonly resolveHost: Resolve = systemResolve,
  ) {
    this.lookup = ((host: string, options: LookupOneOptions | LookupAllOptions | number, callback: LookupCallback) => {
      const all = typeof options === 'object' && options.all === true;
      const family = typeof options === 'number' ? options : options.family;
      this.resolve(host).then((found) => {
        const wanted = family === 4 || family === 6 ? found.filter((a) => a.family === family) : found;
        if (wanted.length === 0) return callback(Object.assign(new Error(`${host} has no IPv${String(family)} address`), { code: 'ENOTFOUND' }));
        if (all) callback(null, wanted);
        else callback(null, wanted[0]!.address, wanted[0]!.family);
      }, (err: Error) => callback(err));
    }) as LookupFunction;
  }

  /** A name's addresses, every one of them allowed, or HostNotAllowedError. */
  async resolve(host: string): Promise<LookupAddress[]> {
    const addresses = await this.resolveHost(host);
    for (const { address } of addresses) this.check(address, host);
    return addresses;
  }

  /** HostNotAllowedError when `address` (what `host` connected to) is in a denied range. */
  check(address: string | undefined, host: string): void {
    const range = address === undefined ? undefined : this.policy.refuses(address);
    if (!range) return;
    const what = host === address ? address : `${host} now resolves to ${address}`;
    throw new HostNotAllowedError(`${what}, in the ${range} range, which ${this.who} may not use (operator flag --deny-store-hosts ${this.policy.denied.join(',')}); the connection was refused`);
  }

  /** Makes `socket` fail with HostNotAllowedError on connecting to a denied address, before anything is written to it. */
  watch(socket: Socket, host: string): void {
    // First in line: a write queued before the connection is flushed by a 'connect' listener added later.
    socket.prependOnceListener('connect', () => {
      try {
        this.check(socket.remoteAddress, host);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
  }

  /** Node agents whose every connection is guarded (the AWS SDK, the Azure pipeline). */
  httpAgent(): HttpAgent {
    return new GuardedHttpAgent(this, { keepAlive: true });
  }

  httpsAgent(options: HttpsAgentOptions = {}): HttpsAgent {
    return new GuardedHttpsAgent(this, { keepAlive: true, ...options });
  }

  /** undici's `connect` option: its own connector (TLS options such as `ca` pass through), guarded. */
  undiciConnect(tls: buildConnector.BuildOptions = {}): buildConnector.connector {
    const connect = buildConnector({ ...tls, lookup: this.lookup });
    return (options, callback) => {
      try {
        // An address literal is never looked up: it is checked before connecting (a templated webhook URL can render one).
        const literal = options.hostname.replace(/^\[|\]$/g, '');
        if (isIP(literal)) this.check(literal, literal);
      } catch (refused) {
        return callback(refused as Error, null);
      }
      connect(options, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('no socket'), null);
        try {
          this.check(socket.remoteAddress, options.hostname);
        } catch (refused) {
          socket.destroy();
          return callback(refused as Error, null);
        }
        callback(null, socket);
      });
    };
  }
}

type Connected = (err: Error | null, socket: Duplex) => void;

/** http(s).Agent's own connection hook, through the guard: its lookup, and the socket watched. */
function guardedConnection(guard: ConnectGuard, connect: (options: ClientRequestArgs, callback?: Connected) => Duplex | null | undefined, options: ClientRequestArgs, callback?: Connected): Duplex | null | undefined {
  const socket = connect({ ...options, lookup: guard.lookup }, callback);
  if (socket) guard.watch(socket as Socket, options.host ?? options.hostname ?? '');
  return socket;
}

class GuardedHttpAgent extends HttpAgent {
  constructor(private readonly guard: ConnectGuard, options: ConstructorParameters<typeof HttpAgent>[0]) {
    super(options);
  }

  override createConnection(options: ClientRequestArgs, callback?: Connected): Duplex | null | undefined {
    return guardedConnection(this.guard, (o, cb) => super.createConnection(o, cb), options, callback);
  }
}

class GuardedHttpsAgent extends HttpsAgent {
  constructor(private readonly guard: ConnectGuard, options: HttpsAgentOptions) {
    super(options);
  }

  override createConnection(options: ClientRequestArgs, callback?: Connected): Duplex | null | undefined {
    return guardedConnection(this.guard, (o, cb) => super.createConnection(o, cb), options, callback);
  }
}
