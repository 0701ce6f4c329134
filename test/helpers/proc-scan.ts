// Which processes are still alive, read from /proc (Linux): a test that SIGKILLs a launcher checks
// that none of its children, grandchildren or nats-server survive it. Zombies count as dead: they
// are gone, only not yet reaped (the container's init may never reap them).
import { readdirSync, readFileSync } from 'node:fs';

function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined; // no such process
  }
}

export function isAlive(pid: number): boolean {
  const s = stateOf(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

/** Live processes (not this one) whose command line contains every one of `needles`. */
export function processesMatching(...needles: string[]): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (needles.every((n) => cmd.includes(n)) && isAlive(pid)) out.push({ pid, cmd });
  }
  return out;
}

/** Polls `cond` every 100 ms; resolves true as soon as it holds, false after timeoutMs. */
export async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
