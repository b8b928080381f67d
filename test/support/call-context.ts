// A CallContext for calling a provider client directly (conformance and unit
// tests): it counts the requests the client says it makes, and can be given
// a deadline.
import { pino } from 'pino';
import type { CallContext } from '../../src/providers/provider.js';

export interface CountingContext extends CallContext {
  requests: number;
}

export function callContext(opts: { consumer?: string; timeoutMs?: number } = {}): CountingContext {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ctx: CountingContext = {
    signal: AbortSignal.timeout(timeoutMs),
    deadlineAt: Date.now() + timeoutMs,
    log: pino({ level: 'silent' }),
    consumer: opts.consumer ?? 'test/reader',
    requests: 0,
    request: () => {
      ctx.requests++;
      return Promise.resolve();
    },
  };
  return ctx;
}
