// gRPC's own hook for choosing addresses, guarded. The channel of a namespaced
// gcpsm store is made by a factory of ours (google-gax's
// grpc.channelFactoryOverride) with the target `secretsync-guarded:///host:port`,
// and this resolver answers it with the addresses the store's ConnectGuard
// allows, on the channel's first resolution and every re-resolution (after a
// lost connection, a GOAWAY): gRPC connects only to addresses it was given
// here. A denied address leaves the channel no address at all, and the calls
// fail with UNAVAILABLE and the guard's "HostNotAllowed: ..." in their details.
import { Channel, experimental, Metadata, status, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { ConnectGuard } from '../connect-guard.js';
import { HostNotAllowedError } from '../errors.js';

const SCHEME = 'secretsync-guarded';
/** The channel option that carries the guard to the resolver. */
const GUARD_OPTION = 'secretsync.connect_guard';
const DEFAULT_PORT = 443;

type Target = experimental.GrpcUri;

class GuardedResolver implements experimental.Resolver {
  private resolving = false;

  constructor(
    private readonly target: Target,
    private readonly listener: experimental.ResolverListener,
    private readonly options: ChannelOptions,
  ) {}

  updateResolution(): void {
    if (this.resolving) return;
    this.resolving = true;
    const hostPort = experimental.splitHostPort(this.target.path);
    const guard = this.options[GUARD_OPTION] as ConnectGuard | undefined;
    const answer = !hostPort || !guard ? Promise.reject(new Error(`cannot resolve ${this.target.path}`)) : guard.resolve(hostPort.host);
    answer.then(
      (addresses) => {
        const port = hostPort!.port ?? DEFAULT_PORT;
        this.listener(experimental.statusOrFromValue(addresses.map((a) => ({ addresses: [{ host: a.address, port }] }))), {}, null, '');
      },
      (err: Error) => {
        // A refusal replaces the addresses with none, so the channel cannot fall back on the ones it had (as it does after a failed lookup); calls fail with the note.
        if (err instanceof HostNotAllowedError) {
          // Twice: grpc-js 1.14's pick_first builds its failure message before it stores the new note.
          for (let i = 0; i < 2; i++) this.listener(experimental.statusOrFromValue([]), {}, null, err.message);
        } else this.listener(experimental.statusOrFromError({ code: status.UNAVAILABLE, details: err.message, metadata: new Metadata() }), {}, null, '');
      },
    ).finally(() => {
      this.resolving = false;
    });
  }

  destroy(): void {
    this.resolving = false;
  }

  static getDefaultAuthority(target: Target): string {
    // host:port, as the dns resolver gives: TLS verifies the host name.
    return target.path;
  }
}

let registered = false;

/** SDK options that make the client's channel resolve through the guard. */
export function guardedChannel(guard: ConnectGuard): Record<string, unknown> {
  if (!registered) {
    experimental.registerResolver(SCHEME, GuardedResolver);
    registered = true;
  }
  return {
    'grpc.channelFactoryOverride': (address: string, credentials: ChannelCredentials, options: ChannelOptions) =>
      new Channel(`${SCHEME}:///${address}`, credentials, { ...options, [GUARD_OPTION]: guard }),
  };
}
