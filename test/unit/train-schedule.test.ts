// The optimizer-step schedule of a mini-batch: `epochs` passes without tiny leftover steps, or a fixed
// `steps_per_minibatch` drawn from cycling seeded reshuffles; the replay pool and the pairs a schedule uses.
import { describe, expect, it } from 'vitest';
import {
  scheduledPairs,
  trainingPool,
  trainSchedule,
  type PoolPair,
} from '../../src/tso/loop/train-pairs.js';

const cfg = (o: { epochs?: number; batch?: number; steps?: number }) => ({
  seed: 7,
  epochs: o.epochs ?? 1,
  train_batch_pairs: o.batch ?? 32,
  steps_per_minibatch: o.steps,
});
const sizes = (s: { indices: number[] }[]) => s.map((b) => b.indices.length);

describe('trainSchedule with epochs', () => {
  it('merges a leftover smaller than half a batch into the previous batch (289 pairs: no 1-pair step)', () => {
    const s = trainSchedule(cfg({ batch: 32 }), 0, 289);
    expect(sizes(s)).toEqual([32, 32, 32, 32, 32, 32, 32, 32, 33]);
    expect(s.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 289 }, (_, i) => i),
    );
  });

  it('keeps a leftover of at least half a batch as its own step, and each epoch reshuffles', () => {
    const s = trainSchedule(cfg({ batch: 32, epochs: 2 }), 3, 80);
    expect(sizes(s)).toEqual([32, 32, 16, 32, 32, 16]);
    expect(s.map((b) => b.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(s[3].indices).not.toEqual(s[0].indices);
    expect(trainSchedule(cfg({ batch: 32, epochs: 2 }), 3, 80)).toEqual(s); // deterministic by seed
  });

  it('fewer pairs than a batch is one step of all pairs per epoch; no pairs, no steps', () => {
    expect(sizes(trainSchedule(cfg({ batch: 32, epochs: 2 }), 0, 5))).toEqual([5, 5]);
    expect(trainSchedule(cfg({ epochs: 3 }), 0, 0)).toEqual([]);
  });
});

describe('trainSchedule with steps_per_minibatch', () => {
  it('takes exactly S steps of B pairs, cycling through reshuffled passes', () => {
    const s = trainSchedule(cfg({ batch: 8, steps: 7 }), 1, 20);
    expect(sizes(s)).toEqual([8, 8, 8, 8, 8, 8, 8]);
    // 56 draws over passes of 20: every pair is used 2 or 3 times, passes 0, 1, 2 in order.
    const counts = new Array<number>(20).fill(0);
    for (const b of s) for (const i of b.indices) counts[i]++;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    expect(s.map((b) => b.epoch)).toEqual([0, 0, 0, 1, 1, 2, 2]);
    // The first pass is a permutation, and the second a different one.
    const stream = s.flatMap((b) => b.indices);
    expect([...stream.slice(0, 20)].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(stream.slice(20, 40)).not.toEqual(stream.slice(0, 20));
  });

  it('the number of steps does not depend on the number of pairs (the ablation contract)', () => {
    for (const n of [1, 7, 31, 32, 33, 289])
      expect(trainSchedule(cfg({ batch: 32, steps: 12, epochs: 5 }), 0, n)).toHaveLength(12);
    // Fewer pairs than a batch: every step is all the pairs.
    expect(sizes(trainSchedule(cfg({ batch: 32, steps: 3 }), 0, 5))).toEqual([5, 5, 5]);
    expect(trainSchedule(cfg({ batch: 32, steps: 3 }), 0, 0)).toEqual([]);
  });
});

describe('replay pool and scheduled pairs', () => {
  const pair = (prompt: string): PoolPair => ({
    prompt,
    chosen: 'a',
    rejected: 'b',
    weight: 1,
    anchor: true,
  });

  it('the pool is the replayed mini-batches, oldest first, then the fresh pairs', () => {
    const pool = trainingPool([[pair('m0-0')], [pair('m1-0'), pair('m1-1')]], [pair('m2-0')]);
    expect(pool.map((p) => p.prompt)).toEqual(['m0-0', 'm1-0', 'm1-1', 'm2-0']);
    expect(trainingPool([], [pair('x')]).map((p) => p.prompt)).toEqual(['x']);
  });

  it('keeps only the pairs the schedule draws, in pool order, and re-indexes the batches into them', () => {
    const pool = Array.from({ length: 100 }, (_, i) => `p${i}`);
    const schedule = trainSchedule(cfg({ batch: 8, steps: 3 }), 2, pool.length);
    const used = scheduledPairs(pool, schedule);
    expect(used.pairs).toHaveLength(24);
    // Pool order: the reference log-probs of the used pairs are requested in the order they were built.
    expect(used.pairs.map((p) => Number(p.slice(1)))).toEqual(
      [...new Set(schedule.flatMap((b) => b.indices))].sort((a, b) => a - b),
    );
    // Every step trains on the same pairs as before, in the same order.
    used.schedule.forEach((b, k) => {
      expect(b.epoch).toBe(schedule[k].epoch);
      expect(b.indices.map((j) => used.pairs[j])).toEqual(schedule[k].indices.map((j) => pool[j]));
    });
    // When every pair is drawn (epochs mode) nothing changes.
    const all = trainSchedule(cfg({ batch: 8, epochs: 2 }), 0, 20);
    expect(scheduledPairs(pool.slice(0, 20), all)).toEqual({ pairs: pool.slice(0, 20), schedule: all });
  });
});
