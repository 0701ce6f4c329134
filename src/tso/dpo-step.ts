// One preference-optimisation step on a batch of pairs, split into the parts replicas need:
// reference log-probs (once per pair), the policy's flat gradient, and the metrics to log.
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt.js';
import { computeFlatGradient } from '../model/gradients.js';
import type { EncodedBatch } from '../model/prompt-format.js';
import { preferenceLoss, type DualClipOptions, type LossName } from './losses.js';
import { preferenceMetrics, type PreferenceMetrics } from './preference-metrics.js';

/** A batch of n pairs: rows [0, n) are the chosen responses, rows [n, 2n) the rejected ones. */
export interface PairBatch {
  seqs: EncodedBatch;
  /** Per-pair weights (the "scale" of scaled preferences); all 1 when absent. */
  weights?: Float32Array;
}

export interface LossConfig extends DualClipOptions {
  name: LossName;
  /**
   * Weight α of an NLL term on the chosen responses (mean per token, pair-weighted), added to the
   * preference loss: L = L_pref + α·mean_i w_i·NLL_i(y_w)/|y_w|. 0 (default) is the pure loss. Why: with
   * small models, the preference loss alone lowers both likelihoods and the chosen answers with them
   * (Pang et al. 2024 add the same term to iterative DPO for reasoning tasks).
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
  const ids = tf.tensor2d(batch.seqs.ids, [batch.seqs.rows, batch.seqs.seqLen], 'int32');
  const mask = tf.tensor2d(batch.seqs.mask, [batch.seqs.rows, batch.seqs.seqLen], 'float32');
  const ref = tf.tensor1d(refLogProbs, 'float32');
  const refChosen = tf.slice(ref, 0, n);
  const refRejected = tf.slice(ref, n, n);
  const chosenLen = tf.tensor1d(responseLengths(batch.seqs, n));
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
      };
      const pref = preferenceLoss(loss.name, parts, { ...loss, weights: batch.weights });
      if (!loss.sftWeight) return pref;
      const nll = tf.div(tf.neg(parts.policyChosen), chosenLen);
      const weighted = batch.weights ? tf.mul(nll, tf.tensor1d(batch.weights)) : nll;
      return tf.add(pref, tf.mul(tf.mean(weighted), loss.sftWeight)) as tf.Scalar;
    });
    const lp = policyLp as tf.Tensor1D;
    let metrics: PreferenceMetrics | undefined;
    tf.tidy(() => {
      const parts = {
        policyChosen: tf.slice(lp, 0, n),
        policyRejected: tf.slice(lp, n, n),
        refChosen,
        refRejected,
      };
      metrics = preferenceMetrics(parts, {
        beta: loss.beta,
        clipChosen: loss.clipChosen,
        clipRejected: loss.clipRejected,
      });
    });
    return { loss: value, grad, metrics: { ...(metrics as PreferenceMetrics), loss: value } };
  } finally {
    tf.dispose([ids, mask, ref, refChosen, refRejected, chosenLen]);
    policyLp?.dispose();
  }
}
