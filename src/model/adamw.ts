// AdamW (decoupled weight decay) with global-norm clipping, applied from one flat gradient vector so
// that data-parallel replicas which apply the same vector end with bit-identical weights.
import * as tf from '@tensorflow/tfjs';
import type { ParamSpec } from './config.js';
import { firstNonFinite } from './gradients.js';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 or Infinity turns it off. */
  clipNorm: number;
  /** Linear lr warm-up over the first N optimizer steps (see scheduledLr); 0 or absent turns it off. */
  warmupSteps?: number;
  /**
   * Cosine decay from the end of the warm-up to optimizer step `decaySteps`, down to lr·minLrFraction,
   * which then holds; 0 or absent keeps the rate constant after the warm-up.
   */
  decaySteps?: number;
  /** Where the cosine decay ends, as a fraction of lr (default 0.1). */
  minLrFraction?: number;
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

/**
 * The learning rate of optimizer step `step` (1-based) under the full schedule: the warm-up of warmupLr,
 * then, when decaySteps is set, a cosine decay to lr·minLrFraction at step decaySteps. Like warmupLr a
 * pure function of the step index, so every replica, a resumed run and LocalPort agree.
 */
export function scheduledLr(
  o: Pick<AdamWOptions, 'lr' | 'warmupSteps' | 'decaySteps' | 'minLrFraction'>,
  step: number,
): number {
  const warm = o.warmupSteps ?? 0;
  const end = o.decaySteps ?? 0;
  if ((warm > 0 && step < warm) || !(end > warm)) return warmupLr(o.lr, warm, step);
  const progress = Math.min(1, Math.max(0, (step - warm) / (end - warm)));
  return cosineDecayLr(o.lr, o.minLrFraction ?? 0.1, progress);
}

/**
 * The cosine decay from lr (progress 0) to lr·minLrFraction (progress 1). The one formula of every
 * schedule here: the run's (scheduledLr) and pretraining's (sftLearningRate in src/tso/sft.ts).
 */
export function cosineDecayLr(lr: number, minLrFraction: number, progress: number): number {
  const min = lr * minLrFraction;
  return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress));
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
  // The moments live in plain arrays, not tensors: one pass of JS over every parameter replaces ~12
  // tensor ops per parameter array (~600 kernel dispatches a step at the benchmark shape, 20-35 ms on
  // wasm; this loop takes a few ms). Every operation is rounded to float32 in the order the tensor
  // version ran it, so the weights are the same bits (test/unit/adamw-exact.test.ts checks it against
  // that version), and they are the same on every backend.
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    private readonly vars: tf.Variable[],
    private readonly specs: ParamSpec[],
    public options: AdamWOptions = DEFAULT_ADAMW,
  ) {
    this.m = vars.map((p) => new Float32Array(p.size));
    this.v = vars.map((p) => new Float32Array(p.size));
  }

  get size(): number {
    return this.vars.reduce((n, p) => n + p.size, 0);
  }

  /** Checks a flat gradient: right length, every entry finite. Throws without touching any state. */
  validate(flat: Float32Array): void {
    if (flat.length !== this.size)
      throw new Error(`gradient has ${flat.length} values, the model has ${this.size}`);
    const bad = firstNonFinite(flat);
    if (bad < 0) return;
    let offset = 0;
    for (let i = 0; i < this.vars.length; i++) {
      if (bad < offset + this.vars[i].size) throw new NonFiniteGradientError(bad, this.specs[i].name);
      offset += this.vars[i].size;
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
    const lr = scheduledLr(this.options, this.step);
    // Scalars as the tensor ops saw them: float32.
    const f = Math.fround;
    const c = {
      scale: f(scale),
      b1: f(beta1),
      ob1: f(1 - beta1),
      b2: f(beta2),
      ob2: f(1 - beta2),
      bc1: f(1 - Math.pow(beta1, this.step)),
      bc2: f(1 - Math.pow(beta2, this.step)),
      eps: f(eps),
      lr: f(lr),
      keep: f(1 - lr * weightDecay),
    };
    let offset = 0;
    this.vars.forEach((p, i) => {
      const w = new Float32Array(p.dataSync() as Float32Array);
      const decay = this.specs[i].decay && weightDecay > 0;
      adamwUpdate(w, this.m[i], this.v[i], flat.subarray(offset, offset + p.size), c, decay);
      offset += p.size;
      tf.tidy(() => p.assign(tf.tensor(w, p.shape, 'float32')));
    });
    return { gradNorm, clipped };
  }

  getState(): AdamWState {
    const copy = (vs: Float32Array[]) => vs.map((x) => new Float32Array(x));
    return { step: this.step, m: copy(this.m), v: copy(this.v) };
  }

  setState(state: AdamWState): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) {
      throw new Error(
        `optimizer state has ${state.m.length} moments, the model has ${this.m.length} parameters`,
      );
    }
    const sized = (xs: Float32Array[], what: string) =>
      xs.forEach((x, i) => {
        if (x.length !== this.vars[i].size)
          throw new Error(
            `optimizer state: ${what} of parameter ${this.specs[i].name} has ${x.length} values, the parameter ${this.vars[i].size}`,
          );
      });
    sized(state.m, 'first moment');
    sized(state.v, 'second moment');
    this.step = state.step;
    state.m.forEach((x, i) => this.m[i].set(x));
    state.v.forEach((x, i) => this.v[i].set(x));
  }

  /** Nothing to free since the moments left the tensor heap; kept so owners need not know. */
  dispose(): void {}
}

interface StepScalars {
  scale: number;
  b1: number;
  ob1: number;
  b2: number;
  ob2: number;
  bc1: number;
  bc2: number;
  eps: number;
  lr: number;
  keep: number;
}

/**
 * One parameter array's update, in place. Each line is one float32 tensor op of the former version
 * (m·β1 + g·(1−β1); v·β2 + g²·(1−β2); (m/bc1) / (sqrt(v/bc2) + ε); p·keep − u·lr), rounded with
 * Math.fround after every operation: a double result of +, −, ×, ÷ or sqrt on float32 inputs rounds to
 * the same float32 as the float32 operation itself, so these are that op's bits.
 */
function adamwUpdate(
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  c: StepScalars,
  decay: boolean,
): void {
  // Scalars in locals: property loads inside the loop cost V8 a third of its time here.
  const f = Math.fround;
  const { scale, b1, ob1, b2, ob2, bc1, bc2, eps, lr } = c;
  // w·1 is w exactly, so a parameter without decay can share the loop.
  const keep = decay ? c.keep : 1;
  for (let j = 0; j < w.length; j++) {
    const gj = f(g[j] * scale);
    const mj = f(f(m[j] * b1) + f(gj * ob1));
    const vj = f(f(v[j] * b2) + f(f(gj * gj) * ob2));
    const u = f(f(mj / bc1) / f(f(Math.sqrt(f(vj / bc2))) + eps));
    w[j] = f(w[j] * keep) - f(u * lr);
    m[j] = mj;
    v[j] = vj;
  }
}
