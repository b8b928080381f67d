// A diagnostic: one line per reconcile start and end, appended to a file with
// a synchronous write (a process killed with SIGKILL has written every line up
// to its last moment). Several replicas may append to files side by side; the
// times are wall-clock microseconds, comparable between processes of one
// machine, so a checker can prove no key was reconciled by two at once
// (test/support/reconcile-journal.ts).
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Lifecycle } from './lifecycle.js';

export interface ReconcileJournal {
  started(controller: string, key: string): void;
  ended(controller: string, key: string): void;
}

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export class FileJournal implements ReconcileJournal, Lifecycle {
  private fd?: number;

  constructor(path: string, private readonly who: string) {
    this.fd = openSync(path, 'a');
  }

  started(controller: string, key: string): void {
    this.write('start', controller, key);
  }

  ended(controller: string, key: string): void {
    this.write('end', controller, key);
  }

  stop(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return Promise.resolve();
  }

  private write(what: string, controller: string, key: string): void {
    if (this.fd !== undefined) writeSync(this.fd, `${nowMicros()} ${this.who} ${what} ${controller} ${key}\n`);
  }
}
