// Per-step preference statistics to log next to the loss (DESIGN.md: loss, reward accuracy, margin,
// chosen/rejected rewards, fraction of pairs clipped). Unweighted: they describe the pairs as they
// are, independent of how much each pair counts in the loss.
import * as tf from '@tensorflow/tfjs';
import { assertBeta, assertClip, assertPreferenceLogProbs, implicitRewards } from './losses.js';
import type { PreferenceLogProbs } from './losses.js';

export interface PreferenceMetrics {
  /** Not computed here: the caller fills it in from the loss it actually optimised. */
  loss?: number;
  /** Fraction of pairs with r_w > r_l (ties count as wrong). */
  rewardAccuracy: number;
  /** mean_i (r_w − r_l). */
  margin: number;
  /** mean_i r_w. */
  chosenReward: number;
  /** mean_i r_l. */
  rejectedReward: number;
  /** Fraction of pairs with r_w > c_w or r_l < −c_l (either side clipped). */
  fractionClipped: number;
  /** Fraction of pairs with r_w > c_w (0 when clipChosen is not given). */
  fractionChosenClipped: number;
  /** Fraction of pairs with r_l < −c_l (0 when clipRejected is not given). */
  fractionRejectedClipped: number;
  pairs: number;
}

export interface PreferenceMetricsOptions {
  beta: number;
  clipChosen?: number;
  clipRejected?: number;
}

/**
 * Computes the metrics and reads them back synchronously as plain numbers; every intermediate
 * tensor is disposed. Strict inequalities match the dual-clip gradient: a reward exactly at the
 * bound still receives gradient, so it does not count as clipped.
 */
export function preferenceMetrics(lp: PreferenceLogProbs, opts: PreferenceMetricsOptions): PreferenceMetrics {
  const pairs = assertPreferenceLogProbs(lp);
  assertBeta(opts.beta);
  if (opts.clipChosen !== undefined) assertClip('clipChosen', opts.clipChosen);
  if (opts.clipRejected !== undefined) assertClip('clipRejected', opts.clipRejected);

  const packed = tf.tidy(() => {
    const { rw, rl } = implicitRewards(lp, opts.beta);
    const fraction = (mask: tf.Tensor): tf.Scalar => tf.mean(tf.cast(mask, 'float32'));
    const none = tf.zeros([pairs], 'bool');
    const chosenClipped = opts.clipChosen === undefined ? none : tf.greater(rw, tf.scalar(opts.clipChosen));
    const rejectedClipped =
      opts.clipRejected === undefined ? none : tf.less(rl, tf.scalar(-opts.clipRejected));
    // One tensor, one read: the order below is the order of the destructuring that follows.
    return tf.stack([
      fraction(tf.greater(rw, rl)),
      tf.mean(tf.sub(rw, rl)),
      tf.mean(rw),
      tf.mean(rl),
      fraction(tf.logicalOr(chosenClipped, rejectedClipped)),
      fraction(chosenClipped),
      fraction(rejectedClipped),
    ]);
  });
  const values = packed.dataSync();
  packed.dispose();
  const [rewardAccuracy, margin, chosenReward, rejectedReward, fractionClipped, fcc, frc] = values;
  return {
    rewardAccuracy,
    margin,
    chosenReward,
    rejectedReward,
    fractionClipped,
    fractionChosenClipped: fcc,
    fractionRejectedClipped: frc,
    pairs,
  };
}
