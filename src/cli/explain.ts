// `secretsync explain <reason>`: what a Ready=False (or store) reason means
// and what to do, from the table the operator's log hints come from.
import { REASON_HELP } from '../api/reasons.js';
import { styler } from './style.js';

export function explain(reason: string | undefined): number {
  const s = styler(process.stdout);
  const known = Object.keys(REASON_HELP);
  if (!reason) {
    for (const r of known) process.stdout.write(`${s.bold(r)}\n  ${REASON_HELP[r]!.means}\n`);
    return 0;
  }
  const match = known.find((r) => r.toLowerCase() === reason.toLowerCase());
  if (!match) {
    process.stderr.write(`unknown reason "${reason}"; known reasons: ${known.join(', ')}\n`);
    return 1;
  }
  const help = REASON_HELP[match]!;
  process.stdout.write(`${s.bold(match)}\n\nWhat it means:\n  ${help.means}\n\nWhat to do:\n  ${help.todo}\n`);
  return 0;
}
