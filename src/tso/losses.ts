// Preference losses over implicit rewards (DESIGN.md, "The dual-clip reward loss").
//
// All losses take summed response log-probs, one entry per pair, and return a scalar.
// Implicit rewards: r_w = β·(policyChosen − refChosen), r_l = β·(policyRejected − refRejected).
// Response lengths (tokens) are needed where a loss works per token: per-token clip bounds and 'sft'.
//
// Reference log-probs carry no gradient by construction: they are plain tensors computed once per
// pair by the reference model, never variables, so tf.grads/variableGrads never differentiate them.
//
// "Weighted mean" is mean_i(w_i · term_i), i.e. divided by N and not by Σw. This keeps the loss
// scale (and the per-pair gradient) proportional to the pair's weight regardless of what else is in
// the batch, and it makes shard losses average exactly into the full-batch loss when replicas hold
// equally sized shards (the coordinator averages gradients, DESIGN.md step 6).
import * as tf from '@tensorflow/tfjs';

export interface PreferenceLogProbs {
  policyChosen: tf.Tensor1D;
  policyRejected: tf.Tensor1D;
  refChosen: tf.Tensor1D;
  refRejected: tf.Tensor1D;
  /** |y_w| per pair (tokens, >= 1): required for per-token clip units and the 'sft' loss. */
  chosenLengths?: tf.Tensor1D;
  /** |y_l| per pair (tokens, >= 1): required for per-token clip units. */
  rejectedLengths?: tf.Tensor1D;
}

export interface LossOptions {
  beta: number;
  /** Per-pair scale w_i >= 0 (finite); defaults to 1 for every pair. */
  weights?: tf.Tensor1D | Float32Array | number[];
}

/**
 * Units of the clip bounds. 'per-token': c is in nats of mean per-token log-ratio, so the chosen side
 * is clipped when (log πθ(y_w) − log π_ref(y_w))/|y_w| > c_w (reward bound β·c_w·|y_w|), the rejected
 * side when (…)/|y_l| < −c_l. 'sequence': c bounds the reward r itself (β · summed log-ratio), so at
 * β = 0.1, c = 1 is ±10 nats over the whole response: it almost never binds on short responses.
 */
export type ClipUnits = 'per-token' | 'sequence';
export const CLIP_UNITS: readonly ClipUnits[] = ['per-token', 'sequence'];

export interface DualClipOptions extends LossOptions {
  /** c_w: the chosen side is not pushed above this (units: clipUnits). > 0; Infinity disables it. */
  clipChosen: number;
  /** c_l: the rejected side is not pushed below −c_l (units: clipUnits). > 0; Infinity disables it. */
  clipRejected: number;
  /** Default 'per-token' (needs chosenLengths and rejectedLengths). */
  clipUnits?: ClipUnits;
}

export type LossName = 'dual-clip' | 'dpo' | 'ipo' | 'sft';
export const LOSS_NAMES: readonly LossName[] = ['dual-clip', 'dpo', 'ipo', 'sft'];

const LOG_PROB_KEYS = ['policyChosen', 'policyRejected', 'refChosen', 'refRejected'] as const;

/** Checks the four log-prob tensors are 1-D float32 of one common length > 0; returns that length. */
export function assertPreferenceLogProbs(lp: PreferenceLogProbs): number {
  let n: number | undefined;
  for (const key of LOG_PROB_KEYS) {
    const t = lp[key];
    if (!(t instanceof tf.Tensor)) throw new Error(`preference loss: ${key} must be a tf.Tensor1D`);
    if (t.isDisposed) throw new Error(`preference loss: ${key} has been disposed`);
    if (t.rank !== 1)
      throw new Error(`preference loss: ${key} must be 1-D, got shape [${t.shape.join(', ')}]`);
    if (t.dtype !== 'float32') throw new Error(`preference loss: ${key} must be float32, got ${t.dtype}`);
    if (n === undefined) n = t.shape[0];
    else if (t.shape[0] !== n) {
      throw new Error(
        `preference loss: length mismatch, policyChosen has ${n} pairs but ${key} has ${t.shape[0]}`,
      );
    }
  }
  if (!n) throw new Error('preference loss: no pairs (log-prob tensors are empty)');
  for (const key of ['chosenLengths', 'rejectedLengths'] as const) {
    const t = lp[key];
    if (t === undefined) continue;
    if (
      !(t instanceof tf.Tensor) ||
      t.isDisposed ||
      t.rank !== 1 ||
      t.dtype !== 'float32' ||
      t.shape[0] !== n
    )
      throw new Error(`preference loss: ${key} must be a live float32 Tensor1D of length ${n}`);
  }
  return n;
}

/** The response lengths a per-token computation needs, or an error naming what is missing. */
function lengths(lp: PreferenceLogProbs, key: 'chosenLengths' | 'rejectedLengths', why: string): tf.Tensor1D {
  const t = lp[key];
  if (t === undefined) throw new Error(`preference loss: ${key} is required for ${why}`);
  return t;
}

/**
 * Reward-space clip bounds (call inside a tidy): the chosen reward r_w is clipped above `chosen`, the
 * rejected reward r_l below −`rejected`. Per-token units scale c by β and the response length. Both
 * the loss and the clipped-fraction metrics use this, so they always agree on what "clipped" means.
 */
export function clipBounds(
  lp: PreferenceLogProbs,
  opts: DualClipOptions,
): { chosen: tf.Tensor; rejected: tf.Tensor } {
  assertClip('clipChosen', opts.clipChosen);
  assertClip('clipRejected', opts.clipRejected);
  const units = opts.clipUnits ?? 'per-token';
  if (units === 'sequence')
    return { chosen: tf.scalar(opts.clipChosen), rejected: tf.scalar(opts.clipRejected) };
  if (units !== 'per-token')
    throw new Error(
      `preference loss: clipUnits must be one of ${CLIP_UNITS.join(', ')}, got ${String(units)}`,
    );
  // Infinity·length stays Infinity (lengths are >= 1), so an infinite c still disables that side.
  const why = 'per-token clip units';
  return {
    chosen: tf.mul(lengths(lp, 'chosenLengths', why), opts.beta * opts.clipChosen),
    rejected: tf.mul(lengths(lp, 'rejectedLengths', why), opts.beta * opts.clipRejected),
  };
}

export function assertBeta(beta: number): void {
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta <= 0) {
    throw new Error(`preference loss: beta must be a finite number > 0, got ${String(beta)}`);
  }
}

export function assertClip(name: 'clipChosen' | 'clipRejected', c: number): void {
  // +Infinity is allowed on purpose: it turns that side of the clip off.
  if (typeof c !== 'number' || Number.isNaN(c) || c <= 0) {
    throw new Error(`preference loss: ${name} must be a number > 0, got ${String(c)}`);
  }
}

/**
 * Validates the weights and returns them as a Tensor1D, or undefined for "all ones".
 * A tensor passed in is returned as is (not copied, so callers keep ownership); arrays become
 * a new tensor, which must be created inside the caller's tidy.
 */
function weightsTensor(weights: LossOptions['weights'], n: number): tf.Tensor1D | undefined {
  if (weights === undefined) return undefined;
  let values: ArrayLike<number>;
  if (weights instanceof tf.Tensor) {
    if (weights.isDisposed) throw new Error('preference loss: weights tensor has been disposed');
    if (weights.rank !== 1) {
      throw new Error(`preference loss: weights must be 1-D, got shape [${weights.shape.join(', ')}]`);
    }
    if (weights.dtype !== 'float32') {
      throw new Error(`preference loss: weights must be float32, got ${weights.dtype}`);
    }
    // A synchronous read: weights are tiny (one per pair) and invalid ones must fail loudly here.
    values = weights.dataSync();
  } else if (weights instanceof Float32Array || Array.isArray(weights)) {
    values = weights;
  } else {
    throw new Error('preference loss: weights must be a tf.Tensor1D, Float32Array or number[]');
  }
  if (values.length !== n) {
    throw new Error(`preference loss: weights has length ${values.length} but there are ${n} pairs`);
  }
  for (let i = 0; i < values.length; i++) {
    const w = values[i];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new Error(`preference loss: weights[${i}] must be finite and >= 0, got ${String(w)}`);
    }
  }
  return weights instanceof tf.Tensor ? weights : tf.tensor1d(Array.from(values), 'float32');
}

/** Implicit rewards r_w and r_l (call inside a tidy). */
export function implicitRewards(lp: PreferenceLogProbs, beta: number): { rw: tf.Tensor1D; rl: tf.Tensor1D } {
  const b = tf.scalar(beta);
  return {
    rw: tf.mul(b, tf.sub(lp.policyChosen, lp.refChosen)),
    rl: tf.mul(b, tf.sub(lp.policyRejected, lp.refRejected)),
  };
}

/** Validates inputs, then computes mean_i(w_i · term_i) with term built from the rewards. */
function weightedLoss(
  lp: PreferenceLogProbs,
  opts: LossOptions,
  term: (rw: tf.Tensor1D, rl: tf.Tensor1D) => tf.Tensor1D,
): tf.Scalar {
  const n = assertPreferenceLogProbs(lp);
  assertBeta(opts.beta);
  return tf.tidy(() => {
    const w = weightsTensor(opts.weights, n);
    const { rw, rl } = implicitRewards(lp, opts.beta);
    const t = term(rw, rl);
    return tf.mean(w === undefined ? t : tf.mul(w, t)) as tf.Scalar;
  });
}

/**
 * −log σ(z) = softplus(−z): finite for any margin (no log(0)). That is what tf.logSigmoid computes,
 * but in tfjs 4.22 its custom gradient closes over its input instead of saving it, so tf.grads fails
 * ("Cannot read properties of undefined") whenever that input is an intermediate tensor, as here.
 * Softplus's registered gradient saves its input properly.
 */
function negLogSigmoid(z: tf.Tensor1D): tf.Tensor1D {
  return tf.softplus(tf.neg(z));
}

/** DPO: −mean_i w_i · log σ(r_w − r_l). */
export function dpoLoss(lp: PreferenceLogProbs, opts: LossOptions): tf.Scalar {
  return weightedLoss(lp, opts, (rw, rl) => negLogSigmoid(tf.sub(rw, rl)));
}

/** IPO: mean_i w_i · ((r_w − r_l)/β − 1/(2β))²; (r_w − r_l)/β is the raw log-ratio difference. */
export function ipoLoss(lp: PreferenceLogProbs, opts: LossOptions): tf.Scalar {
  const { beta } = opts;
  return weightedLoss(lp, opts, (rw, rl) =>
    tf.square(tf.sub(tf.div(tf.sub(rw, rl), tf.scalar(beta)), tf.scalar(1 / (2 * beta)))),
  );
}

/**
 * Dual-clip: −mean_i w_i · log σ(min(r_w, B_w) − max(r_l, −B_l)), with B from clipBounds (per-token:
 * B_w = β·c_w·|y_w|, B_l = β·c_l·|y_l|; sequence: B = c).
 * tf.minimum's gradient w.r.t. its first input is 1[a <= b] and tf.maximum's is 1[a >= b], so a
 * chosen reward strictly above its bound (rejected strictly below) gets exactly zero gradient.
 */
export function dualClipLoss(lp: PreferenceLogProbs, opts: DualClipOptions): tf.Scalar {
  assertClip('clipChosen', opts.clipChosen);
  assertClip('clipRejected', opts.clipRejected);
  return weightedLoss(lp, opts, (rw, rl) => {
    const b = clipBounds(lp, opts);
    const z: tf.Tensor1D = tf.sub(tf.minimum(rw, b.chosen), tf.maximum(rl, tf.neg(b.rejected)));
    return negLogSigmoid(z);
  });
}

/**
 * SFT on the chosen responses: mean_i w_i · NLL_i(y_w)/|y_w| over every pair (rejected sides and the
 * anchor flags are ignored; the sft-distill baseline). β is validated but unused.
 */
export function sftLoss(lp: PreferenceLogProbs, opts: LossOptions): tf.Scalar {
  const len = lengths(lp, 'chosenLengths', "the 'sft' loss");
  return weightedLoss(lp, opts, () => tf.div(tf.neg(lp.policyChosen), len));
}

/** Loss by name, for config-driven training and ablations; DPO, IPO and SFT ignore the clips. */
export function preferenceLoss(name: LossName, lp: PreferenceLogProbs, opts: DualClipOptions): tf.Scalar {
  switch (name) {
    case 'dual-clip':
      return dualClipLoss(lp, opts);
    case 'dpo':
      return dpoLoss(lp, opts);
    case 'ipo':
      return ipoLoss(lp, opts);
    case 'sft':
      return sftLoss(lp, opts);
    default:
      throw new Error(
        `preference loss: unknown loss "${String(name)}" (expected one of ${LOSS_NAMES.join(', ')})`,
      );
  }
}
