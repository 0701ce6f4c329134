// AdamW (decoupled weight decay) with global-norm clipping, applied from one flat gradient vector so
// that data-parallel replicas which apply the same vector end with bit-identical weights.
import * as tf from '@tensorflow/tfjs';
import type { ParamSpec } from './config.js';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 or Infinity turns it off. */
  clipNorm: number;
  /** Linear lr warm-up over the first N optimizer steps (see warmupLr); 0 or absent turns it off. */
  warmupSteps?: number;
}

/**
 * The learning rate of optimizer step `step` (1-based): lr·step/N for step < N, then lr. A pure
 * function of the step index, which the optimizer state carries, so a resumed run, a late-joining
 * replica and LocalPort all use the same rate at the same step.
 */
export function warmupLr(lr: number, warmupSteps: number | undefined, step: number): number {
  const n = warmupSteps ?? 0;
  return n > 0 && step < n ? (lr * step) / n : lr;
}

export const DEFAULT_ADAMW: AdamWOptions = {
  lr: 1e-4,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  clipNorm: 1.0,
};

export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export interface ApplyResult {
  /** Global L2 norm of the gradient before clipping. */
  gradNorm: number;
  clipped: boolean;
}

export class NonFiniteGradientError extends Error {
  override name = 'NonFiniteGradientError';
  constructor(
    readonly index: number,
    readonly param: string,
  ) {
    super(`gradient is not finite at index ${index} (parameter ${param}): refused, no weights changed`);
  }
}

export class AdamW {
  step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    private readonly vars: tf.Variable[],
    private readonly specs: ParamSpec[],
    public options: AdamWOptions = DEFAULT_ADAMW,
  ) {
    this.m = vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  get size(): number {
    return this.vars.reduce((n, p) => n + p.size, 0);
  }

  /** Checks a flat gradient: right length, every entry finite. Throws without touching any state. */
  validate(flat: Float32Array): void {
    if (flat.length !== this.size)
      throw new Error(`gradient has ${flat.length} values, the model has ${this.size}`);
    let offset = 0;
    for (let i = 0; i < this.vars.length; i++) {
      const n = this.vars[i].size;
      for (let j = offset; j < offset + n; j++) {
        if (!Number.isFinite(flat[j])) throw new NonFiniteGradientError(j, this.specs[i].name);
      }
      offset += n;
    }
  }

  /** One AdamW update from a flat gradient in parameter order. */
  apply(flat: Float32Array): ApplyResult {
    this.validate(flat);
    // The norm is computed in float64 in a fixed order: every replica gets the same scale.
    let sq = 0;
    for (let i = 0; i < flat.length; i++) sq += flat[i] * flat[i];
    const gradNorm = Math.sqrt(sq);
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.options;
    const clipped = clipNorm > 0 && Number.isFinite(clipNorm) && gradNorm > clipNorm;
    const scale = clipped ? clipNorm / (gradNorm + 1e-6) : 1;
    this.step += 1;
    // Decoupled weight decay follows the scheduled rate too (as in AdamW with a schedule).
    const lr = warmupLr(this.options.lr, this.options.warmupSteps, this.step);
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    tf.tidy(() => {
      let offset = 0;
      this.vars.forEach((p, i) => {
        const g = tf.mul(tf.tensor(flat.subarray(offset, offset + p.size), p.shape, 'float32'), scale);
        offset += p.size;
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decayed = this.specs[i].decay && weightDecay > 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
        this.m[i].assign(m);
        this.v[i].assign(v);
      });
    });
    return { gradNorm, clipped };
  }

  getState(): AdamWState {
    const copy = (vs: tf.Variable[]) => vs.map((x) => new Float32Array(x.dataSync() as Float32Array));
    return { step: this.step, m: copy(this.m), v: copy(this.v) };
  }

  setState(state: AdamWState): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) {
      throw new Error(
        `optimizer state has ${state.m.length} moments, the model has ${this.m.length} parameters`,
      );
    }
    this.step = state.step;
    tf.tidy(() => {
      this.m.forEach((x, i) => x.assign(tf.tensor(state.m[i], x.shape, 'float32')));
      this.v.forEach((x, i) => x.assign(tf.tensor(state.v[i], x.shape, 'float32')));
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
