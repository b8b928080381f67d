// Output helpers: colours only on a terminal (and never with NO_COLOR), and
// progress on stderr, so piped output stays plain and parseable.
import type { Writable } from 'node:stream';

function colour(stream: Writable & { isTTY?: boolean }): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export function styler(stream: Writable & { isTTY?: boolean }) {
  const on = colour(stream);
  const wrap = (code: number) => (text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { red: wrap(31), yellow: wrap(33), green: wrap(32), dim: wrap(2), bold: wrap(1) };
}

export interface Progress {
  (done: number, total: number): void;
  /** Clears an unfinished progress line, so a message written next starts a line of its own. */
  clear(): void;
}

/** "validating 12/340 files" on stderr, for directories of many files, only on a terminal. */
export function progress(what: string): Progress {
  const tty = process.stderr.isTTY === true;
  let onScreen = false;
  const show = ((done: number, total: number) => {
    if (!tty || total < 20) return;
    process.stderr.write(`\r${what} ${done}/${total} files${done === total ? '\n' : ''}`);
    onScreen = done !== total;
  }) as Progress;
  show.clear = () => {
    if (!onScreen) return;
    process.stderr.write('\r\u001b[2K');
    onScreen = false;
  };
  return show;
}
