// An ESO SecretStore or ClusterSecretStore spec as secretsync's: the providers
// secretsync has, field by field; any other provider or auth method stays on
// External Secrets Operator, said as an error.
import { asText } from '../manifests.js';
import type { Converter, Path } from './converter.js';
import { caProviderKey, convertWebhookRequest } from './webhook-spec.js';
import { isOwnCluster } from '../../providers/kubernetes/server.js';

const PROVIDERS = ['vault', 'aws', 'azurekv', 'gcpsm', 'conjur', 'kubernetes', 'webhook'];
/** ESO's openbao provider has the vault provider's shape; secretsync's vault provider speaks to both. */
const ALIASES: Record<string, string> = { openbao: 'vault' };

export function convertStoreSpec(c: Converter, spec: Path, cluster: boolean): boolean {
  const providers = c.keys([...spec, 'provider']);
  const alias = providers.length === 1 ? ALIASES[providers[0]!] : undefined;
  if (alias) c.move([...spec, 'provider', providers[0]!], [...spec, 'provider', alias]);
  const provider = alias ?? providers[0];
  if (providers.length !== 1 || !provider || !PROVIDERS.includes(provider)) {
    c.error([...spec, 'provider'], `provider "${providers.join(', ')}" is not one secretsync has (${PROVIDERS.join(', ')}): keep this store, and its ExternalSecrets, on External Secrets Operator`);
    return false;
  }
  c.drop([...spec, 'controller'], 'secretsync has no controller classes; run one installation per class');
  c.drop([...spec, 'retrySettings'], 'retries use backoff; limit provider calls with spec.rateLimit');
  c.drop([...spec, 'refreshInterval'], 'stores are checked when they or their credential Secrets change');
  if (!cluster) c.drop([...spec, 'conditions'], 'conditions apply to ClusterSecretStores only');
  const p = [...spec, 'provider', provider];
  const authOf = (path: Path, supported: string[], settings: string[] = []): boolean => {
    for (const kind of c.keys(path)) {
      if (supported.includes(kind) || settings.includes(kind)) continue;
      c.error([...path, kind], `${provider} auth "${kind}" is not one secretsync has (${supported.join(', ')}): keep this store on External Secrets Operator or change its auth`);
      return false;
    }
    return true;
  };
  const keep = 'keep this store on External Secrets Operator';
  switch (provider) {
    case 'vault': {
      if (c.has([...p, 'caProvider']) && !c.has([...p, 'caBundle'])) {
        c.error([...p, 'caProvider'], 'caProvider (the CA read from a Secret or ConfigMap) has no equivalent: put the CA certificate (PEM, or base64 PEM) in caBundle, then migrate again');
      }
      else c.drop([...p, 'caProvider'], 'caBundle verifies the server');
      c.refuse([...p, 'tls'], `tls (a client certificate for Vault) has no equivalent: ${keep}`);
      c.refuse([...p, 'headers'], `headers (extra request headers) has no equivalent: ${keep}`);
      for (const f of ['readYourWrites', 'forwardInconsistent']) c.drop([...p, f], 'it matters only with Vault Enterprise performance standbys, and secretsync reads from the active node');
      c.drop([...p, 'checkAndSet'], 'it applies to PushSecret writes only');
      const auth = [...p, 'auth'];
      // ESO's auth.namespace logs in to another namespace than the one read from.
      const authNamespace = c.get([...auth, 'namespace']);
      if (authNamespace !== undefined) {
        if (authNamespace === c.get([...p, 'namespace'])) c.doc.deleteIn([...auth, 'namespace']);
        else c.error([...auth, 'namespace'], `auth.namespace (log in to namespace "${asText(authNamespace)}", read in "${asText(c.get([...p, 'namespace']))}") has no equivalent: secretsync logs in and reads in spec.provider.vault.namespace; ${keep}`);
      }
      if (!authOf(auth, ['tokenSecretRef', 'appRole', 'kubernetes', 'jwt'], ['namespace'])) return false;
      c.refuse([...auth, 'appRole', 'roleRef'], 'appRole.roleRef (the role id read from a Secret) has no equivalent: give the role id inline in appRole.roleId, then migrate again');
      c.refuse([...auth, 'kubernetes', 'secretRef'], 'kubernetes.secretRef (a long-lived token Secret) has no equivalent: secretsync mints a token with TokenRequest for kubernetes.serviceAccountRef');
      if (c.has([...auth, 'kubernetes']) && !c.has([...auth, 'kubernetes', 'serviceAccountRef'])) {
        c.error([...auth, 'kubernetes'], "no serviceAccountRef: ESO then logs in with its own ServiceAccount's token; secretsync mints a token for a ServiceAccount you name: add kubernetes.serviceAccountRef, then migrate again");
      }
      if (c.has([...auth, 'kubernetes', 'serviceAccountRef']) && !c.has([...auth, 'kubernetes', 'serviceAccountRef', 'audiences'])) {
        c.warn([...auth, 'kubernetes', 'serviceAccountRef'], 'no audiences: ESO sends a token for the Kubernetes API server\'s own audience, which secretsync never sends to a provider; it asks for audience "vault": set audience=vault on the Vault role (or list the role\'s audience in serviceAccountRef.audiences)');
      }
      const sat = [...auth, 'jwt', 'kubernetesServiceAccountToken'];
      c.move([...sat, 'audiences'], [...sat, 'serviceAccountRef', 'audiences']);
      c.drop([...sat, 'expirationSeconds'], 'tokens are minted for 10 minutes and renewed');
      break;
    }
    case 'aws': {
      const service = asText(c.get([...p, 'service']));
      if (service !== 'SecretsManager') {
        c.error([...p, 'service'], `AWS ${service} is not a service secretsync has (SecretsManager): ${keep}`);
        return false;
      }
      c.refuse([...p, 'prefix'], `prefix (prepended to every key) has no equivalent: every key would lose it; write the full names in the ExternalSecrets and remove prefix, or ${keep}`);
      if (c.items([...p, 'additionalRoles']) > 0) c.error([...p, 'additionalRoles'], `additionalRoles (a chain of roles) has no equivalent: secretsync assumes aws.role only; ${keep}`);
      else if (c.has([...p, 'additionalRoles'])) c.doc.deleteIn([...p, 'additionalRoles']);
      for (const f of ['externalID', 'sessionTags', 'transitiveTagKeys']) c.refuse([...p, f], `${f} (sent with AssumeRole, and trust policies may require it) has no equivalent: ${keep}`);
      c.drop([...p, 'secretsManager'], 'it applies to PushSecret writes only');
      if (!authOf([...p, 'auth'], ['secretRef', 'jwt'])) return false;
      break;
    }
    case 'azurekv': {
      const env = asText(c.get([...p, 'environmentType']));
      if (env !== '' && !['PublicCloud', 'ChinaCloud', 'USGovernmentCloud'].includes(env)) {
        c.error([...p, 'environmentType'], `environmentType ${env} is not one secretsync has: set AZURE_AUTHORITY_HOST on the operator for a private cloud and remove the field`);
        return false;
      }
      c.drop([...p, 'customCloudConfig'], 'set AZURE_AUTHORITY_HOST on the operator for a private cloud');
      break;
    }
    case 'conjur': {
      if (c.has([...p, 'caProvider']) && !c.has([...p, 'caBundle'])) {
        c.error([...p, 'caProvider'], 'caProvider (the CA read from a Secret or ConfigMap) has no equivalent: put the CA certificate (PEM, or base64 PEM) in caBundle, then migrate again');
      } else c.drop([...p, 'caProvider'], 'caBundle verifies the server');
      if (!asText(c.get([...p, 'url'])).startsWith('https://')) c.error([...p, 'url'], 'secretsync speaks to Conjur over HTTPS only, with the certificate verified: use its https:// URL');
      if (!authOf([...p, 'auth'], ['apikey', 'jwt'])) return false;
      const jwt = [...p, 'auth', 'jwt'];
      // ESO reads a JWT Secret's "token" key when none is named; secretsync names it.
      if (c.has([...jwt, 'secretRef']) && !c.has([...jwt, 'secretRef', 'key'])) c.doc.setIn([...jwt, 'secretRef', 'key'], 'token');
      if (c.has([...jwt, 'serviceAccountRef']) && !c.has([...jwt, 'serviceAccountRef', 'audiences'])) {
        c.warn([...jwt, 'serviceAccountRef'], 'no audiences: ESO sends a token for the Kubernetes API server\'s own audience, which secretsync never sends to a provider; it asks for audience "conjur": set conjur/authn-jwt/<serviceID>/audience to conjur (or list the authenticator\'s audience in serviceAccountRef.audiences)');
      }
      break;
    }
    case 'kubernetes': {
      caProviderKey(c, [...p, 'server']);
      if (!c.has([...p, 'auth']) && !c.has([...p, 'authRef'])) {
        c.error(p, 'no auth and no authRef: secretsync never reads a cluster with its own identity; name the credentials (auth.serviceAccount, auth.token, auth.cert or authRef), then migrate again');
      }
      if (!authOf([...p, 'auth'], ['serviceAccount', 'token', 'cert'])) return false;
      const sa = [...p, 'auth', 'serviceAccount'];
      if (cluster && c.has(sa) && !c.has([...sa, 'namespace'])) {
        c.error(sa, 'no namespace: ESO then uses each ExternalSecret\'s own namespace; a ClusterSecretStore of secretsync names the ServiceAccount\'s namespace: add serviceAccount.namespace, then migrate again');
      }
      if (c.has(sa) && !isOwnCluster(asText(c.get([...p, 'server', 'url'])) || undefined) && !c.has([...sa, 'audiences'])) {
        c.error(sa, 'no audiences for another cluster\'s server: secretsync never sends a token this cluster\'s API server accepts to another server; list the audiences that server accepts in serviceAccount.audiences, then migrate again');
      }
      if (c.has([...p, 'authRef'])) c.warn([...p, 'authRef'], 'the kubeconfig must give its token or client certificate inline: secretsync refuses exec and auth-provider plugins, file paths and impersonation in it');
      break;
    }
    case 'webhook': {
      convertWebhookRequest(c, p, keep);
      c.warn(p, 'secretsync reads webhooks only: PushSecrets through this store stay on External Secrets Operator');
      break;
    }
    case 'gcpsm': {
      if (!authOf([...p, 'auth'], ['secretRef', 'workloadIdentity'])) return false;
      const wi = [...p, 'auth', 'workloadIdentity'];
      if (c.has(wi) && !(c.has([...wi, 'clusterLocation']) && c.has([...wi, 'clusterName']))) {
        c.error(wi, 'clusterLocation and clusterName are needed: ESO reads them from the GKE metadata server, secretsync does not; add both (the cluster\'s location and name), then migrate again');
      }
      break;
    }
  }
  return !c.findings.some((f) => f.severity === 'error');
}

/** Anything the schema still calls an unknown field has no equivalent: removed, with a warning. */
