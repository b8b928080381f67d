// Error helpers that keep messages readable and free of secret values.

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Bounded message for status and events: one line, at most `max` characters. */
export function shortMessage(text: string, max = 512): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
