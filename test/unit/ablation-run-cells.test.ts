// The cell scheduler: at most `jobs` child processes, outcomes in spec order whatever the completion
// order, and a failing cell recorded with its variant, seed and error while the others finish.
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../../src/tso/ablation/cell.js';
import { runCells, type CellSpec } from '../../src/tso/ablation/run-cells.js';

const result = (s: CellSpec): CellResult => ({
  variant: s.variant,
  seed: s.seed,
  initial: { exact_match: 0, gold_reward: 0 },
  final: { exact_match: s.seed / 10, gold_reward: 0.5 },
  curve: [],
  wall_s: 0,
  run_dir: s.runDir,
});

// Stand-in cells: `node -e` scripts that sleep, then print a result line or fail like `tso` does.
function script(s: CellSpec): string[] {
  if (s.variant === 'bad') return ['-e', 'process.stderr.write("some log\\ntso: boom\\n"); process.exit(1)'];
  const delay = s.seed === 1 ? 1500 : 0; // the first cell finishes after the next one
  return ['-e', `setTimeout(() => console.log(${JSON.stringify(JSON.stringify(result(s)))}), ${delay})`];
}

describe('runCells', () => {
  it('keeps spec order, reports failures and progress, and runs `jobs` at a time', async () => {
    const specs: CellSpec[] = [1, 2, 3].map((seed) => ({ variant: 'full', seed, runDir: `d${seed}` }));
    specs.push({ variant: 'bad', seed: 7, runDir: 'd7' });
    const seen: string[] = [];
    const out = await runCells(specs, {
      jobs: 2,
      argsOf: script,
      onSettled: (o, done, total) => seen.push(`${done}/${total} ${o.spec.variant}:${o.spec.seed}`),
    });
    expect(out.map((o) => `${o.spec.variant}:${o.spec.seed}:${o.ok}`)).toEqual([
      'full:1:true',
      'full:2:true',
      'full:3:true',
      'bad:7:false',
    ]);
    expect(out[0].ok && out[0].result.final.exact_match).toBe(0.1);
    const bad = out[3];
    expect(!bad.ok && bad.failure).toEqual({ variant: 'bad', seed: 7, error: 'exited with code 1: boom' });
    expect(seen[0]).toBe('1/4 full:2'); // seeds 1 and 2 started together (jobs 2); 2 finished first
  });

  it('reports a cell that exits 0 without a result line', async () => {
    const [o] = await runCells([{ variant: 'full', seed: 0, runDir: 'd' }], {
      jobs: 1,
      argsOf: () => ['-e', 'console.log("hello")'],
    });
    expect(!o.ok && o.failure.error).toMatch(/no result line/);
  });

  it('refuses jobs < 1', async () => {
    await expect(runCells([], { jobs: 0, argsOf: () => [] })).rejects.toThrow(/jobs must be an integer >= 1/);
  });
});
