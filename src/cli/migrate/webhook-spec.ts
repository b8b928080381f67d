// ESO's webhook request (a webhook store's spec.provider.webhook, or a
// Webhook generator's spec) as secretsync's: the same fields, its Go
// templates translated to LiquidJS (`{{ .remoteRef.key }}` becomes
// `{{ remoteRef.key }}`), and NTLM, which secretsync does not speak, refused.
import type { Converter, Path } from './converter.js';

export function convertWebhookRequest(c: Converter, p: Path, keep: string): void {
  c.refuse([...p, 'auth'], `auth.ntlm (NTLM, Windows-integrated auth) has no equivalent: secretsync sends headers only (e.g. Authorization from a labelled Secret); ${keep}`);
  for (const field of ['url', 'body']) c.template([...p, field]);
  c.template([...p, 'result', 'jsonPath']);
  for (const header of c.keys([...p, 'headers'])) c.template([...p, 'headers', header]);
  caProviderKey(c, p);
}

/** ESO reads a caProvider without a key as an error at run time; secretsync's schema asks for the key. */
export function caProviderKey(c: Converter, p: Path): void {
  if (c.has([...p, 'caProvider']) && !c.has([...p, 'caProvider', 'key'])) {
    c.error([...p, 'caProvider'], 'caProvider names no key: name the key of the Secret or ConfigMap that holds the CA certificate, then migrate again');
  }
}
