// The ConfigMaps and Secrets ExternalSecrets take templates from
// (templateFrom): their items hold Go templates too, converted with the
// ExternalSecrets that use them. Secret `data` is base64: decoded, converted
// and encoded again.
import type { Document } from 'yaml';
import type { MigrateContext } from './context.js';
import type { Converted } from './convert.js';
import { Converter } from './converter.js';

export function convertTemplateSource(doc: Document, context: MigrateContext): Converted | undefined {
  const keys = context.templateKeys(doc);
  if (!keys) return undefined;
  const c = new Converter(doc, context, undefined);
  const original = doc.clone();
  let changed = false;
  for (const key of keys) {
    for (const field of ['data', 'stringData']) {
      const value = c.get([field, key]);
      if (typeof value !== 'string') continue;
      const encoded = doc.getIn(['kind']) === 'Secret' && field === 'data';
      if (encoded) c.doc.setIn([field, key], Buffer.from(value, 'base64').toString('utf8'));
      c.template([field, key]);
      const converted = c.get([field, key]) as string;
      if (encoded) c.doc.setIn([field, key], Buffer.from(converted).toString('base64'));
      changed ||= c.get([field, key]) !== value;
    }
  }
  if (c.findings.some((f) => f.severity === 'error')) return { docs: [original], findings: c.findings, eso: true, unchanged: true };
  if (!changed) return { docs: [original], findings: c.findings, eso: false, unchanged: true };
  c.warn([], `its templates (${[...keys].join(', ')}) were converted: ExternalSecrets use them in templateFrom`);
  return { docs: [c.doc], findings: c.findings, eso: true };
}
