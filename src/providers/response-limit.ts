// Bounds on what a provider may answer. A Secret holds at most 1 MiB, so no
// single answer larger than a few MiB can become one; reading a hostile 50 MB
// answer whole (and parsing it) could take the operator past its memory
// limit, so answers are cut off while they stream in.

/** Largest provider answer read, in bytes (JSON and base64 add overhead to the 1 MiB a Secret holds). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Most keys one remote value may spread into (a Secret of 1 MiB cannot usefully hold more). */
export const MAX_MAP_KEYS = 10_000;

/** A provider answer larger than the operator reads, or a map with too many keys. */
export class RemoteTooLargeError extends Error {
  override readonly name = 'RemoteTooLargeError';
}

export function tooLargeAnswer(what: string, limit = MAX_RESPONSE_BYTES): RemoteTooLargeError {
  return new RemoteTooLargeError(`the provider's answer for "${what}" is larger than ${limit / (1024 * 1024)} MiB; refused without reading the rest`);
}

/** Reads a byte stream whole, failing as soon as it passes `limit` (the rest is never buffered). */
export async function readLimited(body: AsyncIterable<Uint8Array | string>, what: string, limit = MAX_RESPONSE_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += bytes.byteLength;
    if (size > limit) throw tooLargeAnswer(what, limit);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}
