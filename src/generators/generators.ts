// The generator registry: kinds whose output is made by the operator (or
// minted by a provider's token service) rather than read from a store. Each
// generator (generator.ts says what one is) returns its values and how long
// they stand; generated.ts decides when to reuse them. SDK-backed kinds are
// loaded only when used.
import { randomUUID } from 'node:crypto';
import type { Generator, GeneratorKind, GeneratorSpecs } from '../api/types.js';
import { text, type GenerateContext, type Generated } from './generator.js';
import { generatePassword } from './password.js';
import { hostIsTemplated } from '../providers/host-policy.js';

type GenerateFn<K extends GeneratorKind> = (spec: GeneratorSpecs[K], ctx: GenerateContext) => Promise<Generated>;

const GENERATORS: { [K in GeneratorKind]: () => Promise<GenerateFn<K>> } = {
  Password: () => Promise.resolve((spec) => Promise.resolve({ values: { password: text(generatePassword(spec)) } })),
  UUID: () => Promise.resolve(() => Promise.resolve({ values: { uuid: text(randomUUID()) } })),
  ECRAuthorizationToken: () => import('./ecr.js').then((m) => m.generateEcrToken),
  VaultDynamicSecret: () => import('./vault-dynamic.js').then((m) => m.generateVaultDynamic),
  GCRAccessToken: () => import('./gcr.js').then((m) => m.generateGcrToken),
  ACRAccessToken: () => import('./acr.js').then((m) => m.generateAcrToken),
  Webhook: () => import('./webhook.js').then((m) => m.generateWebhook),
};

/** The endpoints a generator points the operator at (checked against --deny-store-hosts: a generator is tenant-controlled). */
export function generatorEndpoints(generator: Generator): Array<{ path: string; url: string }> {
  const spec = generator.spec as { endpoint?: string; provider?: { server?: string }; registry?: string };
  const out: Array<{ path: string; url: string }> = [];
  if (generator.kind === 'ECRAuthorizationToken' && spec.endpoint) out.push({ path: 'spec.endpoint', url: spec.endpoint });
  if (generator.kind === 'VaultDynamicSecret' && spec.provider?.server) out.push({ path: 'spec.provider.server', url: spec.provider.server });
  if (generator.kind === 'ACRAccessToken' && spec.registry) out.push({ path: 'spec.registry', url: `https://${spec.registry}` });
  // A templated host is checked on every connection instead, after templating (connect-guard.ts).
  const url = (generator.spec as { url?: string }).url;
  if (generator.kind === 'Webhook' && url && !hostIsTemplated(url)) out.push({ path: 'spec.url', url });
  return out;
}

export async function runGenerator(generator: Generator, ctx: GenerateContext): Promise<Generated> {
  const kind = generator.kind as GeneratorKind;
  const generate = (await GENERATORS[kind]()) as GenerateFn<GeneratorKind>;
  return generate(generator.spec, ctx);
}

/** Revokes a lease a generator's values came with; only VaultDynamicSecret values hold one. */
export async function revokeGeneratorLease(generator: Generator, ctx: GenerateContext, leaseId: string): Promise<void> {
  if (generator.kind !== 'VaultDynamicSecret') return;
  const { revokeVaultDynamicLease } = await import('./vault-dynamic.js');
  await revokeVaultDynamicLease(generator.spec as GeneratorSpecs['VaultDynamicSecret'], ctx, leaseId);
}
