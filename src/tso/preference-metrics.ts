// Per-step preference statistics to log next to the loss (DESIGN.md: loss, reward accuracy, margin,
// chosen/rejected rewards, fraction of pairs clipped). Unweighted: they describe the pairs as they
// are, independent of how much each pair counts in the loss. Both ports (LocalPort and the cluster)
// combine shard metrics and carry them over the wire with the functions below, so they agree.
import * as tf from '@tensorflow/tfjs';
import { assertBeta, assertPreferenceLogProbs, clipBounds, implicitRewards } from './losses.js';
import type { ClipUnits, PreferenceLogProbs } from './losses.js';

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
  /** Fraction of pairs with either side clipped. */
  fractionClipped: number;
  /** Fraction of pairs whose chosen side is beyond its clip bound (0 when no clip is given). */
  fractionChosenClipped: number;
  /** Fraction of pairs whose rejected side is beyond its clip bound (0 when no clip is given). */
  fractionRejectedClipped: number;
  pairs: number;
}

export interface PreferenceMetricsOptions {
  beta: number;
  /** Omit both clips for a loss that does not clip: the clipped fractions are then 0. */
  clipChosen?: number;
  clipRejected?: number;
  /** Units of the clips, as in the loss (default 'per-token', which needs the lengths). */
  clipUnits?: ClipUnits;
}

/**
 * Computes the metrics and reads them back synchronously as plain numbers; every intermediate
 * tensor is disposed. The bounds come from losses.clipBounds, the same as the dual-clip loss, and
 * the inequalities are strict like its gradient: a reward exactly at the bound still receives
 * gradient, so it does not count as clipped.
 */
export function preferenceMetrics(lp: PreferenceLogProbs, opts: PreferenceMetricsOptions): PreferenceMetrics {
  const pairs = assertPreferenceLogProbs(lp);
  assertBeta(opts.beta);
  const clips = opts.clipChosen !== undefined || opts.clipRejected !== undefined;

  const packed = tf.tidy(() => {
    const { rw, rl } = implicitRewards(lp, opts.beta);
    const fraction = (mask: tf.Tensor): tf.Scalar => tf.mean(tf.cast(mask, 'float32'));
    let chosenClipped: tf.Tensor = tf.zeros([pairs], 'bool');
    let rejectedClipped: tf.Tensor = chosenClipped;
    if (clips) {
      const b = clipBounds(lp, {
        beta: opts.beta,
        clipChosen: opts.clipChosen ?? Infinity,
        clipRejected: opts.clipRejected ?? Infinity,
        clipUnits: opts.clipUnits,
      });
      chosenClipped = tf.greater(rw, b.chosen);
      rejectedClipped = tf.less(rl, tf.neg(b.rejected));
    }
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

type MeanKey = Exclude<keyof PreferenceMetrics, 'loss' | 'pairs'>;

/** Wire names of the metrics in GradientSummary.metrics (proto map<string, double>). */
const WIRE_KEYS: Record<MeanKey, string> = {
  rewardAccuracy: 'reward_accuracy',
  margin: 'margin',
  chosenReward: 'chosen_reward',
  rejectedReward: 'rejected_reward',
  fractionClipped: 'clip_fraction',
  fractionChosenClipped: 'clip_fraction_chosen',
  fractionRejectedClipped: 'clip_fraction_rejected',
};
const MEAN_KEYS = Object.keys(WIRE_KEYS) as MeanKey[];

/** A shard's metrics as the replica sends them (loss and pairs travel in their own fields). */
export function metricsToWire(m: PreferenceMetrics): Record<string, number> {
  return Object.fromEntries(MEAN_KEYS.map((k) => [WIRE_KEYS[k], m[k]]));
}

/** A shard's metrics back from the wire; a key an older replica did not send reads as 0. */
export function metricsFromWire(w: Record<string, number>, pairs: number): PreferenceMetrics {
  const out = { pairs } as PreferenceMetrics;
  for (const k of MEAN_KEYS) out[k] = w[WIRE_KEYS[k]] ?? 0;
  return out;
}

/**
 * The step's metrics from its shards' metrics: means weighted by shard size (every metric is a mean
 * over the shard's pairs), summed in shard order so both ports produce the same floats.
 */
export function combineShardMetrics(shards: PreferenceMetrics[], sizes: number[]): PreferenceMetrics {
  const n = sizes.reduce((a, b) => a + b, 0);
  const out = { pairs: n } as PreferenceMetrics;
  for (const k of MEAN_KEYS) out[k] = shards.reduce((acc, m, i) => acc + m[k] * sizes[i], 0) / n;
  return out;
}
