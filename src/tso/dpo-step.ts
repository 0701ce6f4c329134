// One preference-optimisation step on a batch of pairs, split into the parts replicas need:
// reference log-probs (once per pair), the policy's flat gradient, and the metrics to log.
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt.js';
import { computeFlatGradient } from '../model/gradients.js';
import { encodePairsForScoring, type EncodedBatch } from '../model/prompt-format.js';
import { preferenceLoss, type DualClipOptions, type LossName } from './losses.js';
import type { TrainPair } from './loop/port.js';
import { preferenceMetrics, type PreferenceMetrics } from './preference-metrics.js';

/** A batch of n pairs: rows [0, n) are the chosen responses, rows [n, 2n) the rejected ones. */
export interface PairBatch {
  seqs: EncodedBatch;
  /** Per-pair weights (the "scale" of scaled preferences); all 1 when absent. A weight of 0 is kept. */
  weights?: Float32Array;
  /** Per-pair NLL-anchor mask (1 = the chosen side is verified, 0 = not); all 1 when absent. */
  anchors?: Float32Array;
}

export interface LossConfig extends DualClipOptions {
  name: LossName;
  /**
   * Weight α of an NLL anchor on the verified chosen responses (mean per token, pair-weighted), added
   * to the loss: L = L_pref + α·Σ_i a_i·w_i·NLL_i(y_w)/|y_w| / N, a_i the anchor mask. 0 (default) is
   * the pure loss. Why: with small models, the preference loss alone lowers both likelihoods and the
   * chosen answers with them (Pang et al. 2024 add the same term to iterative DPO for reasoning); only
   * verified chosen sides are anchored because an unverified one is often wrong.
   */
  sftWeight?: number;
}

/** Response tokens per row of an encoded batch (the mask's row sums). */
function responseLengths(seqs: EncodedBatch, rows: number): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let t = 0; t < seqs.seqLen; t++) n += seqs.mask[r * seqs.seqLen + t];
    out[r] = Math.max(1, n);
  }
  return out;
}

/** What a shard needs of a training pair: the loop's TrainPair (the wire's TrainPair has the same shape). */
export type ShardPair = TrainPair;

/**
 * The batch and reference log-probs of a shard, built the same way by LocalPort and by a policy
 * replica (so both compute bit-identical gradients). A weight of 0 stays 0: the pair contributes nothing.
 */
export function shardBatch(shard: ShardPair[], blockSize: number): { batch: PairBatch; ref: Float32Array } {
  const seqs = encodePairsForScoring(
    [
      ...shard.map((p) => ({ prompt: p.prompt, response: p.chosen })),
      ...shard.map((p) => ({ prompt: p.prompt, response: p.rejected })),
    ],
    blockSize,
  );
  const ref = Float32Array.from([...shard.map((p) => p.refChosen), ...shard.map((p) => p.refRejected)]);
  const weights = Float32Array.from(shard.map((p) => p.weight));
  const anchors = Float32Array.from(shard.map((p) => (p.anchor ? 1 : 0)));
  return { batch: { seqs, weights, anchors }, ref };
}

export function pairCount(b: PairBatch): number {
  if (b.seqs.rows % 2 !== 0) throw new Error(`a pair batch needs an even number of rows, got ${b.seqs.rows}`);
  return b.seqs.rows / 2;
}

/** Summed response log-probs of every row under `model` (no gradient). */
export function sequenceLogProbs(model: GPT, seqs: EncodedBatch): Float32Array {
  const out = tf.tidy(() =>
    model.sequenceLogProbs(
      tf.tensor2d(seqs.ids, [seqs.rows, seqs.seqLen], 'int32'),
      tf.tensor2d(seqs.mask, [seqs.rows, seqs.seqLen], 'float32'),
    ),
  );
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

export interface StepResult {
  loss: number;
  grad: Float32Array;
  metrics: PreferenceMetrics;
}

/**
 * Gradient of the preference loss for `batch` given the reference log-probs (length 2n, same row order).
 * The loss is a mean over this batch's pairs; replicas holding equal-size shards average gradients.
 */
export function preferenceGradient(
  policy: GPT,
  batch: PairBatch,
  refLogProbs: Float32Array,
  loss: LossConfig,
): StepResult {
  const n = pairCount(batch);
  if (refLogProbs.length !== 2 * n)
    throw new Error(`expected ${2 * n} reference log-probs, got ${refLogProbs.length}`);
  if (batch.anchors && batch.anchors.length !== n)
    throw new Error(`anchors has length ${batch.anchors.length} but there are ${n} pairs`);
  const ids = tf.tensor2d(batch.seqs.ids, [batch.seqs.rows, batch.seqs.seqLen], 'int32');
  const mask = tf.tensor2d(batch.seqs.mask, [batch.seqs.rows, batch.seqs.seqLen], 'float32');
  const ref = tf.tensor1d(refLogProbs, 'float32');
  const refChosen = tf.slice(ref, 0, n);
  const refRejected = tf.slice(ref, n, n);
  const lens = responseLengths(batch.seqs, 2 * n);
  const chosenLengths = tf.tensor1d(lens.subarray(0, n));
  const rejectedLengths = tf.tensor1d(lens.subarray(n));
  const clips =
    loss.name === 'dual-clip'
      ? { clipChosen: loss.clipChosen, clipRejected: loss.clipRejected, clipUnits: loss.clipUnits }
      : {};
  let policyLp: tf.Tensor1D | undefined;
  try {
    const { loss: value, grad } = computeFlatGradient(policy, () => {
      const lp = policy.sequenceLogProbs(ids, mask);
      policyLp = tf.keep(lp);
      const parts = {
        policyChosen: tf.slice(lp, 0, n),
        policyRejected: tf.slice(lp, n, n),
        refChosen,
        refRejected,
        chosenLengths,
        rejectedLengths,
      };
      const pref = preferenceLoss(loss.name, parts, { ...loss, weights: batch.weights });
      if (!loss.sftWeight) return pref;
      // Weights 0 and anchors 0 multiply the term away: mean over all N pairs, as the preference loss.
      let nll: tf.Tensor1D = tf.div(tf.neg(parts.policyChosen), chosenLengths);
      if (batch.weights) nll = tf.mul(nll, tf.tensor1d(batch.weights));
      if (batch.anchors) nll = tf.mul(nll, tf.tensor1d(batch.anchors));
      return tf.add(pref, tf.mul(tf.mean(nll), loss.sftWeight)) as tf.Scalar;
    });
    const lp = policyLp as tf.Tensor1D;
    let metrics: PreferenceMetrics | undefined;
    tf.tidy(() => {
      const parts = {
        policyChosen: tf.slice(lp, 0, n),
        policyRejected: tf.slice(lp, n, n),
        refChosen,
        refRejected,
        chosenLengths,
        rejectedLengths,
      };
      metrics = preferenceMetrics(parts, { beta: loss.beta, ...clips });
    });
    return { loss: value, grad, metrics: { ...(metrics as PreferenceMetrics), loss: value } };
  } finally {
    tf.dispose([ids, mask, ref, refChosen, refRejected, chosenLengths, rejectedLengths]);
    policyLp?.dispose();
  }
}
