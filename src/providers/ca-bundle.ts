// A store's caBundle, as users paste it: PEM, or PEM encoded in base64.
export function caBundlePem(caBundle: string): string {
  if (caBundle.includes('-----BEGIN')) return caBundle;
  const decoded = Buffer.from(caBundle, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN CERTIFICATE-----')) throw new Error('caBundle is neither PEM nor base64-encoded PEM');
  return decoded;
}

/** What a store's caBundle has wrong, for its provider's validateStore ([] when absent or fine). */
export function caBundleProblems(provider: string, caBundle: string | undefined): string[] {
  if (!caBundle) return [];
  try {
    caBundlePem(caBundle);
    return [];
  } catch (err) {
    return [`${provider}.${(err as Error).message}`];
  }
}
