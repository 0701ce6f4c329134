// Spawns a real nats-server (JetStream, temp store dir, loopback only, free port) for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.js';

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server (same port and store dir kept) and starts it again. */
  /**
   * Stops the server and starts it again on the same port: after `downMs` (default at once), with its
   * JetStream store (default) or with the store wiped (`wipeStore`: a server that lost its disk).
   */
  restart(o?: { downMs?: number; wipeStore?: boolean }): Promise<void>;
  /** Stops the server and removes its store dir. */
  stop(): Promise<void>;
}

export interface StartNatsOptions {
  /** Server max_payload in bytes (default: the server's 1 MiB). */
  maxPayload?: number;
  /** How long to wait for the server to accept connections (default 15 s). */
  readyTimeoutMs?: number;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $NATS_SERVER_BIN, else nats-server on PATH, else /usr/sbin or /usr/local/bin. */
export function findNatsServer(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv && executable(fromEnv)) return fromEnv;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/sbin', '/usr/local/bin', '/usr/bin']) {
    const p = join(dir, 'nats-server');
    if (executable(p)) return p;
  }
  throw new Error('nats-server not found: install it (`make nats-server`) or set NATS_SERVER_BIN');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function launch(bin: string, port: number, storeDir: string, configFile: string | undefined): ChildProcess {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (configFile) args.push('-c', configFile);
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

async function waitReady(
  child: ChildProcess,
  port: number,
  timeoutMs: number,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server exited (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not accept connections on ${port} within ${timeoutMs} ms: ${stderr()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startNatsServer(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  const storeDir = mkdtempSync(join(tmpdir(), 'tso-nats-'));
  let configFile: string | undefined;
  if (opts.maxPayload !== undefined) {
    configFile = join(storeDir, 'nats.conf');
    writeFileSync(configFile, `max_payload: ${opts.maxPayload}\n`);
  }
  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let err = '';
    const start = async (): Promise<ChildProcess> => {
      const c = launch(bin, port, storeDir, configFile);
      c.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      await waitReady(c, port, timeoutMs, () => err);
      return c;
    };
    try {
      let child = await start();
      return {
        url: `nats://127.0.0.1:${port}`,
        port,
        storeDir,
        restart: async (o = {}) => {
          await stopChild(child);
          if (o.wipeStore)
            for (const f of readdirSync(storeDir))
              if (join(storeDir, f) !== configFile)
                rmSync(join(storeDir, f), { recursive: true, force: true });
          if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
          child = await start();
        },
        stop: async () => {
          await stopChild(child);
          rmSync(storeDir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      lastError = e; // most likely the port was taken in between: try another
    }
  }
  rmSync(storeDir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
