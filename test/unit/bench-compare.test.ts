// The alternating tso/PyTorch comparison: order per round, per-round ratios, median and range.
import { describe, expect, it } from 'vitest';
import { interleave, median, summarize } from '../../src/bench/compare.js';

describe('bench comparison', () => {
  it('median of odd and even counts; refuses no values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
  });

  it('summarizes ratios as median, min, max and every round', () => {
    expect(summarize([1.2, 0.9, 1.5, 1.0, 1.1])).toEqual({
      median: 1.1,
      min: 0.9,
      max: 1.5,
      per_round: [1.2, 0.9, 1.5, 1.0, 1.1],
    });
  });

  it('alternates which side runs first and pairs each round with its neighbour', async () => {
    const calls: string[] = [];
    // A machine that slows down 1.5x per measurement, and a true ratio of 2: whoever runs second
    // looks 1.5x worse, so a fixed order would report 1.33 or 3. Alternating, the rounds err both ways
    // and the median (2.17) lands near the truth.
    let clock = 1;
    const tick = () => (clock *= 1.5);
    const cmp = await interleave(
      4,
      async (i) => {
        calls.push(`tso${i}`);
        const t = tick();
        return { dpo_step_ms: 200 * t, generate_tokens_per_s: 3000 / t };
      },
      async (i) => {
        calls.push(`torch${i}`);
        const t = tick();
        return { dpo_step_ms: 100 * t, generate_tokens_per_s: 1000 / t };
      },
    );
    expect(calls).toEqual(['tso0', 'torch0', 'torch1', 'tso1', 'tso2', 'torch2', 'torch3', 'tso3']);
    expect(cmp.ratios.dpo_step_vs_torch.per_round).toEqual([1.333, 3, 1.333, 3]);
    expect(cmp.ratios.dpo_step_vs_torch.median).toBe(2.167);
    expect(cmp.ratios.generate_tokens_per_s_vs_torch.per_round).toEqual([4.5, 2, 4.5, 2]);
    expect(cmp.tso).toHaveLength(4);
  });

  it('refuses a round count below 1', async () => {
    const f = async () => ({ dpo_step_ms: 1, generate_tokens_per_s: 1 });
    await expect(interleave(0, f, f)).rejects.toThrow(/rounds must be an integer >= 1/);
  });
});
