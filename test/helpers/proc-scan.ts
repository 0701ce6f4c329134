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
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU time (user + system, in clock ticks) a process has used; undefined once it is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5): utime, stime
  } catch {
    return undefined;
  }
}

/**
 * Calls `fn` once the process burns CPU (at least `ticks` clock ticks within one poll), e.g.
 * a policy replica computing its gradient shard, which an idle node (heartbeats only) never does; or
 * after `timeoutMs` regardless. Says which of the two happened.
 */
export function whenBusy(
  pid: number,
  fn: (busy: boolean) => void,
  o: { ticks?: number; timeoutMs?: number; pollMs?: number } = {},
): void {
  const t0 = Date.now();
  let prev = cpuTicks(pid) ?? 0;
  const timer = setInterval(() => {
    const now = cpuTicks(pid) ?? prev;
    const busy = now - prev >= (o.ticks ?? 2);
    prev = now;
    if (busy || Date.now() - t0 > (o.timeoutMs ?? 20_000)) {
      clearInterval(timer);
      fn(busy);
    }
  }, o.pollMs ?? 100);
}
