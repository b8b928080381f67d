// Where the value is in a webhook's answer: result.jsonPath (JSONPath, with
// filters evaluated by jsonpath-plus's safe evaluator, never by eval), as
// External Secrets Operator reads it. For one value, a string is the value
// as is, a list gives its first item, null is empty, and anything else is
// its JSON; for a map, the match must be a JSON object (or a string holding
// one). Messages name the key and the path, never the answer.
import { JSONPath } from 'jsonpath-plus';
import { NotFoundError, StoreConfigError } from '../errors.js';
import { parseJsonObject, toBytes } from '../property.js';

/** The node `jsonPath` picks out of the answer (the whole answer parsed when there is no path). */
function pick(answer: Buffer, key: string, jsonPath: string): unknown {
  const json = parseJsonObject(answer, key);
  let matches: unknown[];
  try {
    matches = JSONPath({ path: jsonPath, json: json as object, wrap: true, eval: 'safe' }) as unknown[];
  } catch (err) {
    throw new StoreConfigError(`spec.provider.webhook.result.jsonPath "${jsonPath}" cannot be evaluated: ${(err as Error).message.split(':')[0]}`);
  }
  if (matches.length === 0) throw new NotFoundError(key, `result.jsonPath "${jsonPath}" matched nothing in the webhook's answer`);
  return matches.length === 1 ? matches[0] : matches;
}

function leaf(node: unknown, key: string, jsonPath: string): Uint8Array {
  if (Array.isArray(node)) {
    if (node.length === 0) throw new NotFoundError(key, `result.jsonPath "${jsonPath}" matched an empty list`);
    return leaf(node[0], key, jsonPath);
  }
  return node === null ? new Uint8Array() : toBytes(node);
}

/** One value out of the answer: the answer itself without a path. */
export function resultValue(answer: Buffer, key: string, jsonPath: string | undefined): Uint8Array {
  return jsonPath ? leaf(pick(answer, key, jsonPath), key, jsonPath) : new Uint8Array(answer);
}

/** A JSON object out of the answer, as the bytes of its JSON (for the map readers). */
export function resultObject(answer: Buffer, key: string, jsonPath: string | undefined): Uint8Array {
  let node = jsonPath ? pick(answer, key, jsonPath) : parseJsonObject(answer, key);
  if (typeof node === 'string') node = parseJsonObject(Buffer.from(node), key);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new NotFoundError(key, `the webhook's answer${jsonPath ? ` at ${jsonPath}` : ''} is not a JSON object, so it cannot be extracted into keys`);
  return toBytes(node);
}
