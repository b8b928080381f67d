// The Secret Manager service definition the official npm client ships in its
// own package (`protos/`), with the google/api, iam and rpc protos from the
// google-gax it depends on: the test server implements exactly what the SDK
// speaks. Also the google.rpc.Status / RetryInfo encoding for error details.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
// Both packages keep their protos beside their build/src entry points.
const sdkProtos = join(dirname(require.resolve('@google-cloud/secret-manager')), '../protos');
const gaxProtos = join(dirname(require.resolve('google-gax')), '../protos');

export function secretManagerService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', {
    includeDirs: [sdkProtos, gaxProtos],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { google: { cloud: { secretmanager: { v1: { SecretManagerService: { service: grpc.ServiceDefinition } } } } } };
  return pkg.google.cloud.secretmanager.v1.SecretManagerService.service;
}

const rpcRoot = protobuf.loadSync([join(gaxProtos, 'google/rpc/status.proto'), join(gaxProtos, 'google/rpc/error_details.proto')]);
const Status = rpcRoot.lookupType('google.rpc.Status');
const RetryInfo = rpcRoot.lookupType('google.rpc.RetryInfo');

/** `grpc-status-details-bin`: a google.rpc.Status carrying a RetryInfo, as Google APIs send with RESOURCE_EXHAUSTED. */
export function retryInfoDetails(code: number, message: string, retryDelaySeconds: number): Buffer {
  const retry = RetryInfo.encode(RetryInfo.create({ retryDelay: { seconds: retryDelaySeconds, nanos: 0 } })).finish();
  const status = Status.create({ code, message, details: [{ type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: retry }] });
  return Buffer.from(Status.encode(status).finish());
}
