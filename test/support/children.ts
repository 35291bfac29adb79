import type { ChildProcess } from 'node:child_process';

/**
 * Every process a test file started (`tickwork` CLIs, nats-server nodes), so that none outlives
 * it: test/support/kill-children.ts kills what is left after each file, failed or not. A process
 * 'exit' handler is not enough: vitest ends its fork processes by signal, which runs none, and a
 * worker left running from a failed test kept loading the machine for the rest of the run.
 */
const tracked = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  return child;
}

/** SIGKILLs every tracked process still running; returns how many there were. */
export function killTracked(): number {
  let n = 0;
  for (const c of tracked) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      n++;
    }
  }
  tracked.clear();
  return n;
}

process.once('exit', killTracked);
