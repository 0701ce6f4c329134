// The gradient shards of one optimizer step, shared by the in-process port (local-port.ts) and the
// cluster (coordinator/distributed-step.ts): shard boundaries, which replica computes which shard,
// and the fixed-order float64 average. The shard count comes from the run config (`grad_shards`),
// never from the number of live replicas: a shard's gradient depends only on its pairs, so the step's
// bits are the same whichever replica computes a shard, and whatever replicas die or join.
import { averageGradients } from '../model/gradients.js';
import { combineShardMetrics, type PreferenceMetrics } from './preference-metrics.js';

/** Shards per step when the run config does not say (the shipped cluster runs 2 policy replicas). */
export const DEFAULT_GRAD_SHARDS = 2;

/** A shard: pairs [from, to) of the step's batch. */
export type ShardRange = [from: number, to: number];

/**
 * Splits n items into k nearly equal contiguous ranges, in order. Empty ranges (n < k) are left out,
 * so every shard holds at least one pair; shard i is the i-th range of this list.
 */
export function shardRanges(n: number, k: number): ShardRange[] {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`shard count must be an integer ≥ 1, got ${k}`);
  const out: ShardRange[] = [];
  for (let i = 0; i < k; i++) out.push([Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)]);
  return out.filter(([a, b]) => b > a);
}

/** Pair counts of the shards: the weights of the average. */
export function shardSizes(ranges: readonly ShardRange[]): number[] {
  return ranges.map(([a, b]) => b - a);
}

/**
 * Which of `replicas` live replicas computes each shard: round-robin, so shard s goes to replica
 * s mod replicas. With fewer replicas than shards a replica computes several (one after another).
 */
export function assignShards(shards: number, replicas: number): number[] {
  if (replicas < 1) throw new Error('no live policy replica to compute the gradient shards');
  return Array.from({ length: shards }, (_, s) => s % replicas);
}

/** The step's update: shard gradients averaged in shard order, weighted by pair count, in float64. */
export function averageShardGradients(grads: Float32Array[], ranges: readonly ShardRange[]): Float32Array {
  if (grads.length !== ranges.length)
    throw new Error(`${grads.length} shard gradients for ${ranges.length} shards`);
  return averageGradients(grads, shardSizes(ranges));
}

/** The step's loss and metrics from its shards': pair-weighted means, summed in shard order. */
export function combineShards(
  shards: readonly { loss: number; metrics: PreferenceMetrics }[],
  ranges: readonly ShardRange[],
): { loss: number; metrics: PreferenceMetrics } {
  const sizes = shardSizes(ranges);
  const n = sizes.reduce((a, b) => a + b, 0);
  return {
    loss: shards.reduce((acc, s, i) => acc + s.loss * sizes[i], 0) / n,
    metrics: combineShardMetrics(
      shards.map((s) => s.metrics),
      sizes,
    ),
  };
}
