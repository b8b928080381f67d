// The checker behind "no key reconciled by two replicas at once" finds an
// overlap when there is one, so a test asserting none can fail.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileJournal } from '../../src/runtime/reconcile-journal.js';
import { checkJournals } from '../support/reconcile-journal.js';

describe('reconcile journal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));

  it('finds two replicas reconciling one key at once, and not one after the other', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, ['100 ra start es ns/x', '200 ra end es ns/x', '300 ra start es ns/y', '400 ra end es ns/y'].join('\n'));
    writeFileSync(b, ['250 rb start es ns/x', '260 rb end es ns/x', '350 rb start es ns/y', '360 rb end es ns/y'].join('\n'));
    const { overlaps, reconciles } = checkJournals([a, b]);
    expect(overlaps.map((o) => o.key)).toEqual(['es ns/y']);
    expect(reconciles).toEqual(new Map([['ra', 2], ['rb', 2]]));
  });

  it('a start without an end (a killed replica) lasts to its last line', () => {
    const a = join(dir, 'killed');
    const b = join(dir, 'survivor');
    writeFileSync(a, ['100 ra start es ns/x', '500 ra start es ns/z'].join('\n'));
    writeFileSync(b, ['300 rb start es ns/x', '310 rb end es ns/x', '600 rb start es ns/z', '610 rb end es ns/z'].join('\n'));
    expect(checkJournals([a, b]).overlaps.map((o) => o.key)).toEqual(['es ns/x']);
  });

  it('FileJournal writes what the checker reads', async () => {
    const file = join(dir, 'written');
    const journal = new FileJournal(file, 'r1');
    journal.started('externalsecret', 'ns/x');
    journal.ended('externalsecret', 'ns/x');
    await journal.stop();
    expect(checkJournals([file])).toEqual({ reconciles: new Map([['r1', 1]]), overlaps: [], mostOfOneKey: { what: 'r1 externalsecret ns/x', count: 1 } });
  });
});
