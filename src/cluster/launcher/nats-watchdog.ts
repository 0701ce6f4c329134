// The nats-server watchdog: `node nats-watchdog.js <nats-server> <store-dir> <nats args...>`, spawned
// by the launcher with a pipe on stdin. nats-server cannot watch a pipe, so this small process runs it
// and stops it when stdin ends (the launcher closed it, or died — even by SIGKILL), on SIGTERM/SIGINT,
// and then deletes the JetStream store dir. If nats-server dies by itself (a crash, a kill -9, the OOM
// killer), the watchdog starts it again on the same port with the same config and store dir, so
// JetStream keeps its streams and every client's reconnect loop finds it; only after RESTART_LIMIT
// restarts within RESTART_WINDOW_MS does it give up, clean up and exit 1, so the launcher sees it. It
// writes one `nats-watchdog: …` line to stderr per event (the launcher prints them). It is also the
// backstop for the launcher's other children: the launcher tells it their process groups (`pgid N`
// lines); when the launcher dies, children exit by themselves on their closed stdin, but one whose
// event loop is blocked (a long synchronous tfjs evaluation) cannot notice, so after CHILDREN_GRACE_MS
// the watchdog SIGKILLs the groups still there.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Newline-separated dirs the watchdog deletes with the store (set by startNats). */
const ALSO_REMOVE_ENV = 'TSO_WATCHDOG_ALSO_REMOVE';

const [bin, storeDir, ...args] = process.argv.slice(2);
if (!bin || !storeDir) {
  process.stderr.write('usage: nats-watchdog <nats-server> <store-dir> [nats-server args...]\n');
  process.exit(2);
}
// Once the launcher is gone its end of stderr is too: a failed write must not stop the cleanup.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const KILL_AFTER_MS = 3000;
/** More restarts than this within the window: nats-server cannot run here (port taken, store broken). */
const RESTART_LIMIT = 5;
const RESTART_WINDOW_MS = 60_000;
let stopping = false;
const restarts: number[] = [];

// More of the run's temp dirs the launcher hands over (its gRPC certificates): gone with the store,
// even when the launcher is killed.
const extra = (process.env[ALSO_REMOVE_ENV] ?? '').split('\n').filter(Boolean);
const cleanup = () => {
  for (const d of [storeDir, ...extra]) rmSync(d, { recursive: true, force: true });
};

function startServer(): ChildProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  child.once('error', (e) => {
    process.stderr.write(`nats-watchdog: could not start ${bin}: ${e.message}\n`);
    cleanup();
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    if (stopping) {
      cleanup();
      process.exit(0);
    }
    const why = signal ?? `code ${code}`;
    const now = Date.now();
    while (restarts.length > 0 && restarts[0] < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length >= RESTART_LIMIT) {
      process.stderr.write(
        `nats-watchdog: nats-server exited (${why}) after ${restarts.length} restarts within ${RESTART_WINDOW_MS / 1000} s: giving up\n`,
      );
      cleanup();
      process.exit(1);
    }
    restarts.push(now);
    // Keep the store: JetStream recovers its streams (membership, weights, run state) from it.
    process.stderr.write(
      `nats-watchdog: nats-server exited (${why}); restarting it on the same port and store (restart ${restarts.length})\n`,
    );
    // A server that failed at once (its port not yet free) is retried after a pause, not in a hot loop.
    setTimeout(
      () => {
        if (!stopping) server = startServer();
        else {
          cleanup();
          process.exit(0);
        }
      },
      restarts.length === 1 ? 0 : 500 * restarts.length,
    );
  });
  return child;
}
let server = startServer();

function stop(): void {
  if (stopping) return;
  stopping = true;
  if (server.exitCode !== null || server.signalCode !== null) {
    cleanup();
    process.exit(0);
  }
  server.kill('SIGTERM');
  setTimeout(() => server.kill('SIGKILL'), KILL_AFTER_MS).unref();
}

// The launcher writes "stop" before closing stdin once its nodes are down. A bare end of stdin means it
// died: its nodes are exiting at this moment too, so nats-server lives a moment longer for them to
// deregister and drain (else each waits out its own deadline on a dead connection).
const PARENT_GONE_GRACE_MS = 700;
const CHILDREN_GRACE_MS = 4000;
const groups = new Set<number>();
let stopSaid = false;
let partial = '';
const onLine = (line: string) => {
  if (line === 'stop') stopSaid = true;
  const m = /^pgid (\d+)$/.exec(line);
  if (m) groups.add(Number(m[1]));
};
const killGroups = () => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // ESRCH: that group has already exited, as it should have.
    }
  }
};
let ended = false;
const onEnd = () => {
  if (ended) return;
  ended = true;
  if (stopSaid) return stop();
  setTimeout(killGroups, CHILDREN_GRACE_MS);
  // nats-server outlives the groups' grace: a blocked child that wakes up can still deregister.
  setTimeout(stop, Math.max(PARENT_GONE_GRACE_MS, CHILDREN_GRACE_MS + 200));
};
process.stdin.on('data', (d: Buffer) => {
  const lines = (partial + d.toString()).split('\n');
  partial = lines.pop() ?? '';
  lines.forEach((l) => onLine(l.trim()));
});
process.stdin.on('end', onEnd);
process.stdin.on('close', onEnd);
process.stdin.on('error', onEnd);
process.stdin.resume();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('SIGHUP', stop);
