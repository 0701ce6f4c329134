// Starts `tso serve` as a real OS process on a free port and waits for its "serving NAME at URL" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';
import { stopProcess, TSO_BIN } from './tso-process.js';

export interface TsoServe {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:40123/v1 */
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startTsoServe(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<TsoServe> {
  const port = await freePort();
  const child = spawn(process.execPath, [TSO_BIN, 'serve', '--listen', `127.0.0.1:${port}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  // never outlive the test process
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  let out = '';
  const output = () => out;
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tso serve did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving \S+ at (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output, stop: () => stopProcess(child) });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tso serve exited (${code ?? signal}) before serving:\n${out}`));
    });
  });
}
