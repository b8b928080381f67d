// What a generator entry of an ExternalSecret means to the Secret: where it
// is used and the values it gave (generators/ makes them; fetching reads them).
import type { GeneratorRef } from '../api/types.js';

export interface GeneratorUse {
  /** Where in the spec it is used (e.g. dataFrom[2]): the state key. */
  slot: string;
  ref: GeneratorRef;
}

export interface GeneratedValues {
  values: Record<string, Uint8Array>;
  /** When a new value is due (for the refresh schedule); undefined: never. */
  renewAt?: number;
  /** True when the values were made now (not taken from the state). */
  fresh: boolean;
}
