// Small helpers for the launcher's children, each the leader of its own process group (detached).
import type { ChildProcess } from 'node:child_process';

export function exited(c: ChildProcess): boolean {
  return c.exitCode !== null || c.signalCode !== null;
}

/** Resolves true once `c` has exited (at once if it already has, by code or signal), false after ms. */
export function waitExit(c: ChildProcess, ms: number): Promise<boolean> {
  if (exited(c)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.off('exit', done);
      resolve(exited(c));
    }, ms);
    function done() {
      clearTimeout(t);
      resolve(true);
    }
    c.once('exit', done);
  });
}

/** Signals the child's whole process group (its own children too); ignores a group already gone. */
export function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, signal);
  } catch {
    if (!exited(c)) c.kill(signal);
  }
}
