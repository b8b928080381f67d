// The plugin's gRPC service: the Secrets Store CSI driver's CSIDriverProvider
// (Version, Mount) on a unix socket in the driver's providers directory,
// from the driver's published proto (src/csi/proto, generated). A failed
// mount answers with a gRPC status whose message says why (never a value)
// and the reason as MountResponse.error.code, which the driver counts.
import { chmodSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'pino';
import { providerFailure } from '../providers/errors.js';
import { toSyncError } from '../secrets/errors.js';
import { errorMessage } from '../util/errors.js';
import type { Mounter } from './mount.js';
import descriptor from './proto/descriptor.json' with { type: 'json' };
import type { ProtoGrpcType } from './proto/service.js';
import type { CSIDriverProviderHandlers } from './proto/v1alpha1/CSIDriverProvider.js';

export const RUNTIME_NAME = 'secretsync';
export const RUNTIME_VERSION = '0.1.0';

/** The options the generated types were made with (scripts/gen-csi-proto.ts). */
const LOADER = { longs: String, enums: String, defaults: true, oneofs: true };

export interface PluginServer {
  close(): Promise<void>;
}

export async function servePlugin(socket: string, mounter: Mounter, log: Logger, mountTimeoutMs: number): Promise<PluginServer> {
  const definition = protoLoader.fromJSON(descriptor as Parameters<typeof protoLoader.fromJSON>[0], LOADER);
  const proto = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  const handlers: CSIDriverProviderHandlers = {
    Version: (_call, callback) => callback(null, { version: 'v1alpha1', runtimeName: RUNTIME_NAME, runtimeVersion: RUNTIME_VERSION }),
    Mount: (call, callback) => {
      const started = Date.now();
      const signal = AbortSignal.timeout(mountTimeoutMs);
      mounter.mount(call.request.attributes, call.request.permission, signal).then(
        (mounted) => {
          log.debug({ files: mounted.files.length, ms: Date.now() - started }, 'mounted');
          callback(null, { files: mounted.files.map((f) => ({ path: f.path, mode: f.mode, contents: Buffer.from(f.contents) })), objectVersion: mounted.versions });
        },
        (err: unknown) => {
          const failure = toSyncError(err);
          const code = providerFailure(err).metric === 'denied' || failure.reason === 'StoreNotAllowed' ? grpc.status.PERMISSION_DENIED : grpc.status.FAILED_PRECONDITION;
          log.info({ reason: failure.reason, err: failure.message }, 'mount refused');
          callback({ code, details: `${failure.reason}: ${errorMessage(failure)}` });
        },
      );
    },
  };
  const server = new grpc.Server({ 'grpc.max_send_message_length': 16 * 1024 * 1024 });
  server.addService(proto.v1alpha1.CSIDriverProvider.service, handlers);
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  // Only the driver (root on the node) talks to the socket.
  chmodSync(socket, 0o600);
  log.info({ socket }, 'secretsync CSI provider listening');
  return {
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => {
      rmSync(socket, { force: true });
      resolve();
    })),
  };
}
