// The operator's logger. pino's redaction censors any field that could carry
// a secret value, as a second line of defence: code logs keys and names only.
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'value',
  'values',
  'data',
  'stringData',
  'token',
  'password',
  'secret',
  '*.value',
  '*.values',
  '*.data',
  '*.stringData',
  '*.token',
  '*.password',
  '*.secret',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'secretsync',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

export type { Logger };
