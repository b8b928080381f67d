// A programmable provider for controller tests, like the incumbent's fake with
// injectable results: each remote key answers as scripted (a value with
// versions and dates, NotFound, PermissionDenied, Throttled with a retry hint,
// a slow answer, or a hang that ignores its signal), and every call is
// recorded. It is injected into a test operator (OperatorOptions.providers) in
// place of the `fake` provider, so stores declare `provider: { fake: ... }`;
// it is never registered in src/.
import type { FindRef, RemoteRef } from '../../src/api/types.js';
import { NotFoundError, PermissionDeniedError, StoreConfigError, ThrottledError } from '../../src/providers/errors.js';
import { extractProperty, valueToMap } from '../../src/providers/property.js';
import type { CallContext, Provider, ProviderClient, RemoteValue, RemoteValues, SourceInfo } from '../../src/providers/provider.js';

export type Script =
  | { value: string; version?: string; leaseEndsAt?: Date; expiresAt?: Date; rotatesAt?: Date; delayMs?: number }
  | { error: 'NotFound' | 'PermissionDenied' | 'Config' }
  | { error: 'Throttled'; retryAfterMs?: number }
  | { hang: true };

export interface RecordedCall {
  method: string;
  key: string;
  consumer: string;
  at: number;
}

export class ScriptedProvider implements Provider {
  readonly name = 'fake';
  readonly capabilities = 'ReadOnly';
  readonly calls: RecordedCall[] = [];
  /** How long a store check takes (a slow first validation). */
  validateDelayMs = 0;
  private readonly scripts = new Map<string, Script>();

  set(key: string, script: Script): this {
    this.scripts.set(key, script);
    return this;
  }

  callsFor(key: string): RecordedCall[] {
    return this.calls.filter((c) => c.key === key);
  }

  validateStore(): string[] {
    return [];
  }

  newClient(): Promise<ProviderClient> {
    return Promise.resolve(new ScriptedClient(this.scripts, this.calls, () => this.validateDelayMs));
  }
}

class ScriptedClient implements ProviderClient {
  constructor(
    private readonly scripts: Map<string, Script>,
    private readonly calls: RecordedCall[],
    private readonly validateDelayMs: () => number,
  ) {}

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const { raw, source } = await this.answer('getSecret', ref.key, ctx);
    return { value: ref.property ? extractProperty(raw, ref.key, ref.property) : raw, source };
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    const { raw, source } = await this.answer('getSecretMap', ref.key, ctx);
    return { values: valueToMap(raw, ref.key, ref.property), sources: [source] };
  }

  async findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    for (const key of this.scripts.keys()) {
      if (find.path && !key.startsWith(`${find.path}/`)) continue;
      const { raw, source } = await this.answer('findSecrets', key, ctx);
      values[key] = raw;
      sources.push(source);
    }
    return { values, sources };
  }

  async validate(ctx: CallContext): Promise<void> {
    await ctx.request();
    const delay = this.validateDelayMs();
    if (delay) await new Promise((r) => setTimeout(r, delay));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async answer(method: string, key: string, ctx: CallContext): Promise<{ raw: Uint8Array; source: SourceInfo }> {
    await ctx.request();
    this.calls.push({ method, key, consumer: ctx.consumer, at: Date.now() });
    const script = this.scripts.get(key);
    if (!script) throw new NotFoundError(key);
    if ('hang' in script) return new Promise(() => undefined); // ignores the signal: the caller's deadline must free it
    if ('error' in script) {
      if (script.error === 'Throttled') throw new ThrottledError('the provider is throttling requests', script.retryAfterMs);
      if (script.error === 'NotFound') throw new NotFoundError(key);
      if (script.error === 'PermissionDenied') throw new PermissionDeniedError(`the store may not read "${key}"`);
      throw new StoreConfigError(`the store is misconfigured for "${key}"`);
    }
    if (script.delayMs) await new Promise((r) => setTimeout(r, script.delayMs));
    const { value, version, leaseEndsAt, expiresAt, rotatesAt } = script;
    return { raw: new TextEncoder().encode(value), source: { key, version, leaseEndsAt, expiresAt, rotatesAt } };
  }
}
