// Runs the real `tso` command line as child processes for integration tests: long-lived nodes
// (`tso node`, waiting for "node serving at HOST:PORT") and one-shot commands (exit code + output).
// Every child is tracked and SIGKILLed if the test process exits without stopping it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TSO_BIN = fileURLToPath(new URL('../../bin/tso.js', import.meta.url));

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function track(c: ChildProcess): ChildProcess {
  live.add(c);
  c.once('exit', () => live.delete(c));
  return c;
}

export function exited(c: ChildProcess): boolean {
  return c.exitCode !== null || c.signalCode !== null;
}

/** Resolves when the child has exited (at once if it already has). */
export function waitExit(c: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (exited(c)) return Promise.resolve({ code: c.exitCode, signal: c.signalCode });
  return new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
}

/** SIGTERM (a clean shutdown), then SIGKILL after graceMs. */
export async function stopProcess(c: ChildProcess | undefined, graceMs = 8000): Promise<void> {
  if (!c || exited(c)) return;
  const force = setTimeout(() => c.kill('SIGKILL'), graceMs);
  c.kill('SIGTERM');
  await waitExit(c);
  clearTimeout(force);
}

export interface TsoNode {
  child: ChildProcess;
  /** The gRPC address the node printed ("node serving at ..."). */
  address: string;
  /** Everything it wrote so far (stdout + stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** `tso node --config <file> --nats <url>`; resolves once the node serves and is registered. */
export function startTsoNode(
  config: string,
  natsUrl: string,
  timeoutMs = 60_000,
  env: Record<string, string> = {},
): Promise<TsoNode> {
  const child = track(
    spawn(process.execPath, [TSO_BIN, 'node', '--config', config, '--nats', natsUrl], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    }),
  );
  let out = '';
  const output = () => out;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tso node ${config} did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /node serving at (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.on('data', (x: Buffer) => (out += x.toString()));
        resolve({ child, address: m[1], output, stop: () => stopProcess(child) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tso node ${config} exited (${code ?? signal}) before serving:\n${out}`));
    });
  });
}

/** Spawns `tso <args>` without waiting for anything (e.g. a late joiner). */
export function spawnTso(args: string[]): { child: ChildProcess; output: () => string } {
  const child = track(spawn(process.execPath, [TSO_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** Runs `tso <args>` to completion (asynchronously: the event loop stays free). */
export async function runTsoCommand(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = track(spawn(process.execPath, [TSO_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code } = await waitExit(child);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
