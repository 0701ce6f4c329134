// `tso ablate` end to end through the real CLI: a tiny copy of config/cluster.yaml (its node configs and
// models, one mini-batch, few prompts), two variants × two seeds in two parallel cells, --json.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runTsoCommand } from '../helpers/tso-process.js';

const REPO = resolve(import.meta.dirname, '../..');

interface SeedRow {
  seed: number;
  exact_match: number;
  gold_reward: number;
  run_dir: string;
}
interface VariantRow {
  name: string;
  seeds: SeedRow[];
  mean: { exact_match: { mean: number } };
  diff_vs_full: { exact_match: { mean: number; lo: number | null; hi: number | null } } | null;
}

describe('tso ablate', () => {
  let root: string;
  let config: string;
  let baseSeed: number;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'tso-ablate-'));
    const cluster = parse(readFileSync(join(REPO, 'config/cluster.yaml'), 'utf8')) as {
      nodes: string[];
      run: Record<string, unknown> & { seed: number };
    };
    baseSeed = cluster.run.seed;
    cluster.nodes = cluster.nodes.map((n) => resolve(REPO, n));
    cluster.run = {
      ...cluster.run,
      run_id: 'ablate-itest',
      task: { train_prompts: 8, heldout_prompts: 9, human_fraction: 0.25 },
      minibatches: 1,
      minibatch_prompts: 8,
      epochs: 1,
      steps_per_minibatch: 8,
      train_batch_pairs: 16,
      policy_samples: 1,
    };
    config = join(root, 'cluster.yaml');
    writeFileSync(config, stringify(cluster));
  });

  it('runs 2 variants × 2 seeds in parallel and prints one JSON object', async () => {
    const out = join(root, 'out');
    const args = ['ablate', '--config', config, '--only', 'full,no-scale', '--seeds', '2', '--jobs', '2'];
    const r = await runTsoCommand([...args, '--json', '--out', out], 400_000);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { variants: VariantRow[]; seeds: number[]; initial: unknown };
    expect(json.seeds).toEqual([baseSeed, baseSeed + 1]);
    expect(json.variants.map((v) => v.name)).toEqual(['full', 'no-scale']);
    for (const v of json.variants) {
      expect(v.seeds.map((s) => s.seed)).toEqual(json.seeds);
      for (const s of v.seeds) {
        expect(s.exact_match).toBeGreaterThanOrEqual(0);
        expect(s.exact_match).toBeLessThanOrEqual(1);
        expect(existsSync(join(s.run_dir, 'report.json'))).toBe(true);
      }
    }
    expect(json.variants[0].diff_vs_full).toBeNull();
    const d = json.variants[1].diff_vs_full!.exact_match;
    expect(d.lo).not.toBeNull();
    expect(d.lo!).toBeLessThanOrEqual(d.mean);
    expect(json.initial).toBeTruthy();
    expect(r.stderr).toMatch(/\[ablate\] 4\/4 done, \S+ seed \d+: exact /);
    for (const f of ['ablation.md', 'ablation.json', 'curves.svg'])
      expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, 'ablation.md'), 'utf8')).toContain('| no scaling | 2 |');

    // The same --out again: refused (nothing is appended to or overwritten silently).
    const again = await runTsoCommand([...args, '--out', out], 60_000);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already holds ablation results .*--overwrite/);
  }, 500_000);

  it('refuses bad --seeds, --only and --jobs with clear errors', async () => {
    const bad = async (extra: string[]) => {
      const r = await runTsoCommand(['ablate', '--config', config, '--out', join(root, 'never'), ...extra]);
      expect(r.code).not.toBe(0);
      return r.stderr;
    };
    expect(await bad(['--seeds', '1,x'])).toMatch(/--seeds: not a seed/);
    expect(await bad(['--only', 'full,nope'])).toMatch(/--only: unknown variant\(s\) nope/);
    expect(await bad(['--jobs', '0'])).toMatch(/--jobs: expected an integer >= 1/);
    expect(existsSync(join(root, 'never'))).toBe(false);
  });
});
