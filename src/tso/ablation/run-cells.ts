// Runs the (variant, seed) cells as child processes (`tso ablate-cell`), at most `jobs` at a time.
// Each cell is deterministic by its seed and writes only its own run dir, so the results do not depend
// on the scheduling. A failing cell is recorded (variant, seed, error) and the others carry on.
import { spawn, type ChildProcess } from 'node:child_process';
import { parseCellResultLine, type CellFailure, type CellResult } from './cell.js';

export interface CellSpec {
  variant: string;
  seed: number;
  runDir: string;
}

export type CellOutcome = { spec: CellSpec; wall_s: number } & (
  { ok: true; result: CellResult } | { ok: false; failure: CellFailure }
);

export interface RunCellsOptions {
  jobs: number;
  /** The argv (after node) of one cell, e.g. [bin/tso.js, 'ablate-cell', ...]. */
  argsOf(spec: CellSpec): string[];
  onSettled?(outcome: CellOutcome, done: number, total: number): void;
}

const live = new Set<ChildProcess>();

/** Stops every running cell (the parent was interrupted: the cells must not outlive it). */
export function killRunningCells(): void {
  for (const c of live) c.kill('SIGTERM');
}

const STDERR_TAIL = 8_000;

// The child's own error line (`tso: ...`, see main.ts) says most; otherwise its last lines of stderr.
function errorOf(code: number | null, signal: string | null, stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim().length > 0);
  const own = lines.filter((l) => l.startsWith('tso: ')).at(-1);
  const why = own ? own.slice(5) : lines.slice(-3).join(' | ') || 'no error output';
  return `exited with ${signal ? `signal ${signal}` : `code ${code}`}: ${why}`;
}

function runOne(spec: CellSpec, args: string[]): Promise<CellOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_TAIL)));
    const settle = (r: { ok: true; result: CellResult } | { ok: false; error: string }) => {
      live.delete(child);
      const wall_s = (performance.now() - t0) / 1000;
      resolve(
        r.ok
          ? { spec, wall_s, ok: true, result: r.result }
          : { spec, wall_s, ok: false, failure: { variant: spec.variant, seed: spec.seed, error: r.error } },
      );
    };
    child.once('error', (e) => settle({ ok: false, error: `could not start: ${e.message}` }));
    child.once('close', (code, signal) => {
      if (code !== 0) return settle({ ok: false, error: errorOf(code, signal, stderr) });
      try {
        settle({ ok: true, result: parseCellResultLine(stdout) });
      } catch (e) {
        settle({ ok: false, error: (e as Error).message });
      }
    });
  });
}

/** Runs every cell; outcomes are returned in the order of `specs`, whatever order they finished in. */
export async function runCells(specs: readonly CellSpec[], o: RunCellsOptions): Promise<CellOutcome[]> {
  if (!(Number.isInteger(o.jobs) && o.jobs >= 1))
    throw new Error(`jobs must be an integer >= 1, got ${o.jobs}`);
  const outcomes: CellOutcome[] = new Array<CellOutcome>(specs.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      outcomes[i] = await runOne(specs[i], o.argsOf(specs[i]));
      o.onSettled?.(outcomes[i], ++done, specs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, specs.length) }, worker));
  return outcomes;
}
