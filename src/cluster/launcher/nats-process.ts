// Starts a private nats-server (JetStream, temp store dir, free port; with `config`, users and
// per-role permissions, see nats-auth.ts). It runs
// under a watchdog (nats-watchdog.ts) in its own process group: when the launcher dies, even by
// SIGKILL, the watchdog's stdin ends and it stops nats-server and deletes the store dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from 'nats';
import { probeNats } from '../../transport/index.js';
import { exited, killGroup, waitExit } from './process-group.js';

const WATCHDOG = fileURLToPath(new URL('./nats-watchdog.js', import.meta.url));

export interface NatsProcess {
  url: string;
  /** The watchdog's pid (nats-server runs in its process group). */
  pid: number;
  storeDir: string;
  /**
   * Resolves (with why) if the watchdog ends before stop() was called: nats-server could not be kept
   * running (a nats-server that dies is restarted on the same port and store, nats-watchdog.ts).
   */
  died: Promise<string>;
  /** Hands the watchdog a process group to SIGKILL if the launcher dies and the group outlives it. */
  adopt(pgid: number): void;
  stop(): Promise<void>;
}

export function natsServerBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/bin', '/usr/bin'])) {
    const p = join(dir, 'nats-server');
    if (dir && existsSync(p)) return p;
  }
  throw new Error(
    'nats-server not found: install it (Debian: apt-get install -y nats-server) or point the config at a running NATS',
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface StartNatsOptions {
  /**
   * The server config (users, permissions, limits) for this port and JetStream dir. It holds the
   * passwords: it is written 0600 inside the 0700 store dir, which the watchdog deletes at the end.
   * Without it the server is open (tests of an explicitly open bus).
   */
  config?: (port: number, jetstreamDir: string) => string;
  /** Credential the readiness probe connects with (a server with `config` refuses anonymous ones). */
  probe?: Partial<ConnectionOptions>;
  /** More temp dirs of the run the watchdog deletes with the store (even if the launcher is killed). */
  alsoRemove?: string[];
}

export async function startNats(log: (l: string) => void, o: StartNatsOptions = {}): Promise<NatsProcess> {
  const bin = natsServerBinary();
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'tso-nats-'));
  let serverArgs = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (o.config) {
    const jsDir = join(storeDir, 'js');
    mkdirSync(jsDir, { mode: 0o700 });
    const conf = join(storeDir, 'server.conf');
    writeFileSync(conf, o.config(port, jsDir), { mode: 0o600 });
    serverArgs = ['-c', conf];
  }
  const child: ChildProcess = spawn(process.execPath, [WATCHDOG, bin, storeDir, ...serverArgs], {
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true,
    env: { ...process.env, TSO_WATCHDOG_ALSO_REMOVE: (o.alsoRemove ?? []).join('\n') },
  });
  child.stdin?.on('error', () => {}); // EPIPE if the watchdog is already gone: nothing to tell it
  let err = '';
  let partial = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
    // The watchdog's own lines (a restart of nats-server, giving up) are news for the run's log.
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('nats-watchdog: ')) log(l.slice('nats-watchdog: '.length));
  });
  let stopping = false;
  const died = new Promise<string>((resolve) =>
    child.once('exit', (_code, signal) => {
      if (stopping) return;
      resolve(
        signal
          ? `the nats-server watchdog was killed (${signal})`
          : err.trim().split('\n').pop() || 'nats-server exited',
      );
    }),
  );
  const stop = async () => {
    stopping = true;
    // "stop" and the end of stdin are the watchdog's signal; it stops nats-server and deletes the store.
    child.stdin?.end('stop\n');
    // A watchdog that exits by itself has seen nats-server exit first. One that hangs, or was killed
    // on its own (a signal), may have left nats-server behind in its group: kill the group.
    if (!(await waitExit(child, 6000)) || child.signalCode !== null) {
      killGroup(child, 'SIGKILL');
      await waitExit(child, 2000);
    }
    rmSync(storeDir, { recursive: true, force: true });
  };
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (!(await probeNats(url, 500, o.probe))) {
    const why = exited(child)
      ? `nats-server exited: ${err.trim().split('\n').pop() ?? ''}`
      : Date.now() > deadline
        ? 'nats-server did not start within 15 s'
        : undefined;
    if (why) {
      await stop();
      throw new Error(why);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`started nats-server at ${url} (JetStream store ${storeDir})`);
  const adopt = (pgid: number) => {
    if (!stopping && child.stdin?.writable) child.stdin.write(`pgid ${pgid}\n`);
  };
  return { url, pid: child.pid!, storeDir, died, adopt, stop };
}
