// The ablation variants change exactly what they say, and the --only / --seeds arguments parse or fail
// with a clear message.
import { describe, expect, it } from 'vitest';
import { LOSS_NAMES } from '../../src/tso/losses.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';
import { parseSeeds } from '../../src/tso/ablation/seeds.js';
import { cellRunConfig, selectVariants, VARIANTS, variantByKey } from '../../src/tso/ablation/variants.js';

/** Paths of the leaves that differ between two plain objects (a key missing on one side counts). */
function changedPaths(a: unknown, b: unknown, at = ''): string[] {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  if (!isObj(a) || !isObj(b)) return Object.is(a, b) ? [] : [at];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => changedPaths(a[k], b[k], at ? `${at}.${k}` : k)).sort();
}

describe('ablation variants', () => {
  const base = RunConfigSchema.parse({});
  const changes = (key: string) => changedPaths(base, variantByKey(key).apply(base));

  it('each variant changes exactly its ingredient', () => {
    expect(changes('full')).toEqual([]);
    expect(changes('offline-dpo')).toEqual(['pairs_mode', 'reference']);
    expect(changes('online-fixed-ref')).toEqual(['reference']);
    expect(variantByKey('online-fixed-ref').apply(base).pairs_mode).toBe('online');
    expect(changes('self-only')).toEqual(['pairs.use_human', 'samples_per_node']);
    // The same generation budget: the policy draws what the matrix would have drawn.
    const self = variantByKey('self-only').apply(
      { ...base, samples_per_node: 1, policy_samples: 2 },
      { matrix: 4 },
    );
    expect([self.samples_per_node, self.policy_samples]).toEqual([0, 6]);
    expect(changes('no-correction')).toEqual(['correction.mode']);
    expect(changes('no-scale')).toEqual(['pairs.scale']);
    expect(variantByKey('no-scale').apply(base).pairs.scale).toBe(false);
    expect(changes('plain-dpo')).toEqual(['loss.name']);
    expect(changes('no-human')).toEqual(['pairs.use_human']);
    expect(changes('sft-distill')).toEqual(['loss.name', 'pairs.strategy']);
    const sft = variantByKey('sft-distill').apply(base);
    expect([sft.pairs.strategy, sft.loss.name]).toEqual(['best-matrix', 'sft']);
    const oracle = variantByKey('oracle-labels').apply(base);
    expect(oracle.correction).toEqual({
      ...base.correction,
      mode: 'ai',
      judge_weight: 2,
      human: { source: 'none' },
    });
  });

  it('only oracle-labels uses the oracle judge', () => {
    expect(VARIANTS.filter((v) => v.oracleJudge).map((v) => v.key)).toEqual(['oracle-labels']);
  });

  it('every variant has a unique key, a name and a one-line description', () => {
    expect(new Set(VARIANTS.map((v) => v.key)).size).toBe(VARIANTS.length);
    for (const v of VARIANTS) {
      expect(v.name.length).toBeGreaterThan(0);
      expect(v.removes).toMatch(/^[^\n]+$/);
    }
  });

  it('produces run configs the schema accepts (sft-distill once the sft loss exists)', () => {
    for (const v of VARIANTS) {
      if (v.key === 'sft-distill' && !(LOSS_NAMES as readonly string[]).includes('sft')) continue;
      expect(() => RunConfigSchema.parse(v.apply(base)), v.key).not.toThrow();
    }
  });

  it('gives each cell its own seed and run id', () => {
    const c = cellRunConfig({ ...base, run_id: 'demo' }, variantByKey('no-human'), 12);
    expect([c.seed, c.run_id, c.pairs.use_human]).toEqual([12, 'demo-no-human-s12', false]);
  });

  it('--only selects a subset in the canonical order, and names unknown keys', () => {
    expect(selectVariants(undefined)).toHaveLength(VARIANTS.length);
    expect(selectVariants('no-scale, full').map((v) => v.key)).toEqual(['full', 'no-scale']);
    expect(() => selectVariants('full,nope')).toThrow(/unknown variant\(s\) nope/);
    expect(() => selectVariants(',')).toThrow(/no variant named/);
  });
});

describe('--seeds', () => {
  it('a count N means run.seed .. run.seed+N−1; the default is 5', () => {
    expect(parseSeeds('3', 10)).toEqual([10, 11, 12]);
    expect(parseSeeds(undefined, 0)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a list is taken as is; "11," is the one seed 11', () => {
    expect(parseSeeds('11,12,13', 0)).toEqual([11, 12, 13]);
    expect(parseSeeds(' 7 , 3 ', 0)).toEqual([7, 3]);
    expect(parseSeeds('11,', 0)).toEqual([11]);
  });

  it('refuses anything else with a clear error', () => {
    expect(() => parseSeeds('0', 0)).toThrow(/--seeds: expected a count >= 1/);
    expect(() => parseSeeds('two', 0)).toThrow(/--seeds: expected a count >= 1 or a list/);
    expect(() => parseSeeds('1.5', 0)).toThrow(/--seeds/);
    expect(() => parseSeeds('1,x,-2', 0)).toThrow(/not a seed .*"x", "-2"/);
    expect(() => parseSeeds('1,,2', 0)).toThrow(/not a seed/);
    expect(() => parseSeeds('4,5,4', 0)).toThrow(/listed twice: 4/);
  });
});
