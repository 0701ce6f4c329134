// The gradient shards of a step (src/tso/grad-shards.ts), shared by the in-process port and the
// cluster: a fixed count from the run config, round-robin over the live replicas, averaged in shard
// order in float64, so the update does not depend on how many replicas computed it.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import {
  assignShards,
  averageShardGradients,
  combineShards,
  DEFAULT_GRAD_SHARDS,
  shardRanges,
} from '../../src/tso/grad-shards.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';
import type { PreferenceMetrics } from '../../src/tso/preference-metrics.js';

describe('gradient shards', () => {
  it('splits a batch into the configured number of contiguous shards, never an empty one', () => {
    expect(shardRanges(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(shardRanges(32, 2)).toEqual([
      [0, 16],
      [16, 32],
    ]);
    expect(shardRanges(1, 2)).toEqual([[0, 1]]);
    expect(() => shardRanges(4, 0)).toThrow(/shard count/);
  });

  it('shares the shards round-robin: a lone replica computes them all', () => {
    expect(assignShards(2, 2)).toEqual([0, 1]);
    expect(assignShards(2, 1)).toEqual([0, 0]);
    expect(assignShards(3, 2)).toEqual([0, 1, 0]);
    expect(assignShards(2, 3)).toEqual([0, 1]);
    expect(() => assignShards(2, 0)).toThrow(/no live policy replica/);
  });

  it('averages in shard order, pair-weighted, in float64, rounded once', () => {
    const ranges = shardRanges(5, 2); // sizes 2 and 3
    const g0 = Float32Array.from([0.1, 1e8, -3]);
    const g1 = Float32Array.from([0.7, 1, 3]);
    const avg = averageShardGradients([g0, g1], ranges);
    const want = [0, 1, 2].map((i) => Math.fround((g0[i] * 2 + g1[i] * 3) / 5));
    expect(Array.from(avg)).toEqual(want);
    expect(() => averageShardGradients([g0], ranges)).toThrow(/1 shard gradients for 2 shards/);
  });

  it('combines shard losses and metrics weighted by pair count', () => {
    const m = (x: number) => ({ rewardAccuracy: x }) as unknown as PreferenceMetrics;
    const r = combineShards(
      [
        { loss: 1, metrics: m(0) },
        { loss: 4, metrics: m(1) },
      ],
      [
        [0, 1],
        [1, 4],
      ],
    );
    expect(r.loss).toBe((1 * 1 + 4 * 3) / 4);
    expect(r.metrics.rewardAccuracy).toBe(3 / 4);
    expect(r.metrics.pairs).toBe(4);
  });

  it('run.grad_shards: default, and errors that say what is wrong', () => {
    expect(RunConfigSchema.parse({}).grad_shards).toBe(DEFAULT_GRAD_SHARDS);
    expect(RunConfigSchema.parse({ grad_shards: 4 }).grad_shards).toBe(4);
    const bad = (obj: unknown) => () => parseConfig(obj, RunConfigSchema, 'run.yaml');
    expect(bad({ grad_shards: 0 })).toThrow(/run\.yaml: grad_shards: expected integer >= 1, got 0/);
    expect(bad({ grad_shards: 1.5 })).toThrow(/grad_shards: expected integer/);
    expect(bad({ grad_shards: 'two' })).toThrow(/grad_shards/);
    expect(bad({ grad_shards: 8, train_batch_pairs: 4 })).toThrow(
      /grad_shards \(8\) is more than train_batch_pairs \(4\)/,
    );
  });
});
