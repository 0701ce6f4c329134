// The benchmark workload, shaped exactly like scripts/torch_reference.py: random token rows of
// the full context, every position scored, plain DPO with beta 0.1, AdamW lr 1e-4.
import type { EncodedBatch } from '../model/prompt-format.js';
import { mulberry32 } from '../model/seeded-normal.js';

export interface BenchShape {
  pairs: number;
  seqLen: number;
  vocab: number;
}

/** 2·pairs rows of random tokens (chosen rows first), mask 1 everywhere: every position is scored. */
export function randomPairRows(shape: BenchShape, seed: number): EncodedBatch {
  const rand = mulberry32(seed);
  const rows = 2 * shape.pairs;
  const ids = new Int32Array(rows * shape.seqLen);
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(rand() * shape.vocab);
  return {
    ids,
    mask: new Float32Array(rows * shape.seqLen).fill(1),
    rows,
    seqLen: shape.seqLen,
    truncated: 0,
  };
}

/** Rows [from, to) of each half (chosen and rejected) of a pair batch: one replica's shard. */
export function shardPairs(b: EncodedBatch, from: number, to: number): EncodedBatch {
  const n = b.rows / 2;
  const L = b.seqLen;
  const take = (src: Int32Array | Float32Array, dst: Int32Array | Float32Array) => {
    dst.set(src.subarray(from * L, to * L), 0);
    dst.set(src.subarray((n + from) * L, (n + to) * L), (to - from) * L);
  };
  const rows = 2 * (to - from);
  const ids = new Int32Array(rows * L);
  const mask = new Float32Array(rows * L);
  take(b.ids, ids);
  take(b.mask, mask);
  return { ids, mask, rows, seqLen: L, truncated: 0 };
}

// One split for the benchmark, the in-process port and the cluster (src/tso/grad-shards.ts).
export { shardRanges } from '../tso/grad-shards.js';
