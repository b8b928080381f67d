// The `azurekv` provider: Azure Key Vault secrets, certificates and keys
// through @azure/keyvault-secrets (and -certificates / -keys, loaded on the
// first cert/ or key/ read), with Entra ID credentials from @azure/identity.
import type { Provider } from '../provider.js';
import { AzureKvClient } from './client.js';
import { specProblems, storeCredential } from './credentials.js';

export const azurekvProvider: Provider = {
  name: 'azurekv',
  capabilities: 'ReadWrite',
  validateStore(store) {
    return specProblems(store.spec.provider.azurekv!);
  },
  async newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.azurekv!;
    return new AzureKvClient(spec.vaultUrl, await storeCredential(spec, kube, namespace), connectGuard);
  },
};
