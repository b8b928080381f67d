// The explicit provider registry: one line per provider. Each entry loads its
// module (and so its SDK) only when a store first uses that provider.
import type { ProviderName, ProviderSpec } from '../api/types.js';
import type { Provider } from './provider.js';

type Loader = () => Promise<Provider>;

const loaders: Partial<Record<ProviderName, Loader>> = {
  fake: async () => (await import('./fake/provider.js')).fakeProvider,
  vault: async () => (await import('./vault/provider.js')).vaultProvider,
  aws: async () => (await import('./aws/provider.js')).awsProvider,
  azurekv: async () => (await import('./azurekv/provider.js')).azurekvProvider,
  gcpsm: async () => (await import('./gcpsm/provider.js')).gcpsmProvider,
  conjur: async () => (await import('./conjur/provider.js')).conjurProvider,
  kubernetes: async () => (await import('./kubernetes/provider.js')).kubernetesProvider,
  webhook: async () => (await import('./webhook/provider.js')).webhookProvider,
};

/** Providers that replace registered ones for one operator (tests inject programmable providers here). */
export type ProviderOverrides = Partial<Record<ProviderName, Provider>>;

const loaded = new Map<string, Promise<Provider>>();

export function providerName(spec: ProviderSpec): ProviderName | undefined {
  const names = Object.keys(spec).filter((k) => spec[k as ProviderName] !== undefined) as ProviderName[];
  return names.length === 1 ? names[0] : undefined;
}

export function supportedProviders(): string[] {
  return Object.keys(loaders);
}

export function loadProvider(name: ProviderName, overrides?: ProviderOverrides): Promise<Provider> {
  const override = overrides?.[name];
  if (override) return Promise.resolve(override);
  const loader = loaders[name];
  if (!loader) return Promise.reject(new Error(`provider "${name}" is not supported by this build (supported: ${supportedProviders().join(', ')})`));
  let provider = loaded.get(name);
  if (!provider) {
    provider = loader();
    loaded.set(name, provider);
  }
  return provider;
}
