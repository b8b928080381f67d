// A store's caBundle, as users paste it: PEM, or PEM encoded in base64.
export function caBundlePem(caBundle: string): string {
  if (caBundle.includes('-----BEGIN')) return caBundle;
  const decoded = Buffer.from(caBundle, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN CERTIFICATE-----')) throw new Error('caBundle is neither PEM nor base64-encoded PEM');
  return decoded;
}
