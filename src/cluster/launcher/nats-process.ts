// Starts a private nats-server (JetStream, temp store dir, free port) when no server answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeNats } from '../../transport/index.js';

export interface NatsProcess {
  url: string;
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

export async function startNats(log: (l: string) => void): Promise<NatsProcess> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'tso-nats-'));
  const child: ChildProcess = spawn(
    natsServerBinary(),
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (!(await probeNats(url, 500))) {
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${err.trim().split('\n').pop()}`);
    if (Date.now() > deadline) throw new Error('nats-server did not start within 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`started nats-server at ${url} (JetStream store ${storeDir})`);
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
