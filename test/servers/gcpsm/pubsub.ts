// Google Cloud Pub/Sub for the tests, over the same gRPC port as Secret
// Manager, from the google.pubsub.v1 protos that the official npm client
// ships: topics, pull subscriptions, Publish, Pull (held open until a message
// comes or the wait ends, like the real long poll), Acknowledge and
// ModifyAckDeadline, with redelivery of what is not acknowledged in time.
// Secret Manager publishes its notifications here (SECRET_VERSION_ADD, with
// the secretId and eventType attributes Google documents). Every call needs
// an authenticated caller.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { RpcError, type Caller } from './secret-manager.js';

const require = createRequire(import.meta.url);
const pubsubProtos = join(dirname(require.resolve('@google-cloud/pubsub')), '../protos');
const gaxProtos = join(dirname(require.resolve('google-gax')), '../protos');
type Request = Record<string, unknown>;

interface Message { id: string; data: Buffer; attributes: Record<string, string>; published: number }
interface Delivery { message: Message; ackId: string; visibleAt: number; attempts: number }
interface Subscription { name: string; topic: string; ackDeadlineS: number; deliveries: Delivery[]; waiters: Array<() => void> }

const MAX_WAIT_MS = 10_000;

function services(): { publisher: grpc.ServiceDefinition; subscriber: grpc.ServiceDefinition } {
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', { includeDirs: [pubsubProtos, gaxProtos], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { google: { pubsub: { v1: { Publisher: { service: grpc.ServiceDefinition }; Subscriber: { service: grpc.ServiceDefinition } } } } };
  return { publisher: pkg.google.pubsub.v1.Publisher.service, subscriber: pkg.google.pubsub.v1.Subscriber.service };
}

export class TestPubSub {
  readonly topics = new Set<string>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly counts = new Map<string, number>();

  constructor(private readonly authenticate: (metadata: grpc.Metadata) => Promise<Caller>) {}

  /** Adds the Publisher and Subscriber services to a gRPC server. */
  addTo(server: grpc.Server): void {
    const { publisher, subscriber } = services();
    server.addService(publisher, this.implement(['CreateTopic', 'GetTopic', 'Publish']));
    server.addService(subscriber, this.implement(['CreateSubscription', 'GetSubscription', 'Pull', 'Acknowledge', 'ModifyAckDeadline']));
  }

  /** Publishes to a topic (what Secret Manager does for a secret's notification topics). */
  publish(topic: string, data: Buffer, attributes: Record<string, string>): string {
    if (!this.topics.has(topic)) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${topic.split('/').pop()}).`);
    const message: Message = { id: String(Date.now()) + randomBytes(3).readUIntBE(0, 3), data, attributes, published: Date.now() };
    for (const sub of this.subscriptions.values()) {
      if (sub.topic !== topic) continue;
      sub.deliveries.push({ message, ackId: randomBytes(12).toString('base64url'), visibleAt: 0, attempts: 0 });
      for (const wake of sub.waiters.splice(0)) wake();
    }
    return message.id;
  }

  private implement(rpcs: string[]): grpc.UntypedServiceImplementation {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const rpc of rpcs) {
      const handler = (this as unknown as Record<string, (req: Request, call: grpc.ServerUnaryCall<Request, unknown>) => unknown>)[rpc]!.bind(this);
      implementation[rpc] = (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        this.counts.set(rpc, (this.counts.get(rpc) ?? 0) + 1);
        this.authenticate(call.metadata)
          .then(() => handler(call.request, call))
          .then((out) => callback(null, out), (err: unknown) => {
            if (err instanceof RpcError) callback({ code: err.code, details: err.message });
            else callback({ code: grpc.status.INTERNAL, details: String(err) });
          });
      };
    }
    return implementation;
  }

  CreateTopic(req: Request): unknown {
    const name = String(req.name);
    if (!/^projects\/[^/]+\/topics\/[A-Za-z][\w.~+%-]{2,254}$/.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`);
    if (this.topics.has(name)) throw new RpcError(grpc.status.ALREADY_EXISTS, 'Resource already exists in the project (resource=' + name.split('/').pop() + ').');
    this.topics.add(name);
    return { name };
  }

  GetTopic(req: Request): unknown {
    const name = String(req.topic);
    if (!this.topics.has(name)) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${name.split('/').pop()}).`);
    return { name };
  }

  Publish(req: Request): unknown {
    const messages = (req.messages ?? []) as Array<{ data?: Buffer; attributes?: Record<string, string> }>;
    return { message_ids: messages.map((m) => this.publish(String(req.topic), Buffer.from(m.data ?? Buffer.alloc(0)), m.attributes ?? {})) };
  }

  CreateSubscription(req: Request): unknown {
    const name = String(req.name);
    const topic = String(req.topic);
    if (!this.topics.has(topic)) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${topic.split('/').pop()}).`);
    if (this.subscriptions.has(name)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name.split('/').pop()}).`);
    const ackDeadlineS = Number(req.ack_deadline_seconds ?? 10) || 10;
    this.subscriptions.set(name, { name, topic, ackDeadlineS, deliveries: [], waiters: [] });
    return { name, topic, ack_deadline_seconds: ackDeadlineS };
  }

  GetSubscription(req: Request): unknown {
    const sub = this.subscription(String(req.subscription));
    return { name: sub.name, topic: sub.topic, ack_deadline_seconds: sub.ackDeadlineS };
  }

  /** Waits (up to the call's deadline, at most 10 s) for a message, unless return_immediately. */
  async Pull(req: Request, call: grpc.ServerUnaryCall<Request, unknown>): Promise<unknown> {
    const sub = this.subscription(String(req.subscription));
    const max = Math.max(1, Number(req.max_messages ?? 1));
    const deadline = call.getDeadline();
    const until = Date.now() + Math.min(MAX_WAIT_MS, deadline instanceof Date ? deadline.getTime() - Date.now() - 100 : MAX_WAIT_MS);
    for (;;) {
      const now = Date.now();
      const ready = sub.deliveries.filter((d) => d.visibleAt <= now).slice(0, max);
      if (ready.length > 0 || req.return_immediately === true || now >= until || call.cancelled) {
        for (const d of ready) {
          d.visibleAt = now + sub.ackDeadlineS * 1000;
          d.attempts++;
        }
        return {
          received_messages: ready.map((d) => ({
            ack_id: d.ackId,
            delivery_attempt: d.attempts,
            message: { data: d.message.data, attributes: d.message.attributes, message_id: d.message.id, publish_time: { seconds: String(Math.floor(d.message.published / 1000)), nanos: 0 } },
          })),
        };
      }
      const next = Math.min(until, ...sub.deliveries.map((d) => d.visibleAt).filter((t) => t > now));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(10, next - now));
        sub.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  Acknowledge(req: Request): unknown {
    const sub = this.subscription(String(req.subscription));
    const ids = new Set((req.ack_ids ?? []) as string[]);
    sub.deliveries = sub.deliveries.filter((d) => !ids.has(d.ackId));
    return {};
  }

  ModifyAckDeadline(req: Request): unknown {
    const sub = this.subscription(String(req.subscription));
    const ids = new Set((req.ack_ids ?? []) as string[]);
    const seconds = Number(req.ack_deadline_seconds ?? 0);
    for (const d of sub.deliveries) if (ids.has(d.ackId)) d.visibleAt = Date.now() + seconds * 1000;
    return {};
  }

  private subscription(name: string): Subscription {
    const sub = this.subscriptions.get(name);
    if (!sub) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${name.split('/').pop()}).`);
    return sub;
  }
}
