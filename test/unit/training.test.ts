// Training: replicas applying the same flat gradient stay bit-identical, preference losses go down,
// bad gradients are refused without side effects, optimizer state round-trips, gradients average in a
// fixed order, and neither training nor generation leaks tensors.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import {
  AdamW,
  DEFAULT_ADAMW,
  NonFiniteGradientError,
  scheduledLr,
  warmupLr,
  type AdamWOptions,
} from '../../src/model/adamw.js';
import { weightsChecksum } from '../../src/model/checkpoint.js';
import type { GPTConfig } from '../../src/model/config.js';
import { generate } from '../../src/model/generate.js';
import { GPT } from '../../src/model/gpt.js';
import { averageGradients, computeFlatGradient } from '../../src/model/gradients.js';
import { encodePairsForScoring, promptIds } from '../../src/model/prompt-format.js';
import { EOS_ID, PAD_ID } from '../../src/model/tokenizer.js';
import {
  preferenceGradient,
  sequenceLogProbs,
  shardBatch,
  type LossConfig,
  type PairBatch,
} from '../../src/tso/dpo-step.js';

const C: GPTConfig = { vocabSize: 259, blockSize: 32, nLayer: 2, nHead: 2, dModel: 32 };
const OPT: AdamWOptions = { ...DEFAULT_ADAMW, lr: 3e-3 };
// Sequence units: the floor test below relies on the reward-space bound c_w + c_l = 2.
const DUAL_CLIP: LossConfig = {
  name: 'dual-clip',
  beta: 0.1,
  clipChosen: 1,
  clipRejected: 1,
  clipUnits: 'sequence',
};
const DPO: LossConfig = { name: 'dpo', beta: 0.1, clipChosen: Infinity, clipRejected: Infinity };

/** Two pairs: rows [0, 2) chosen, rows [2, 4) rejected. */
const BATCH: PairBatch = {
  seqs: encodePairsForScoring(
    [
      { prompt: 'sort 3 1 2', response: '1 2 3' },
      { prompt: 'sort b a', response: 'a b' },
      { prompt: 'sort 3 1 2', response: '3 2 1' },
      { prompt: 'sort b a', response: 'b a x' },
    ],
    C.blockSize,
  ),
};

const toFloat = (a: ArrayLike<number>) => Array.from(a);
const allModels: { dispose(): void }[] = [];
const track = <T extends { dispose(): void }>(x: T): T => (allModels.push(x), x);

beforeAll(() => initBackend('wasm').then(() => undefined));
afterEach(() => allModels.splice(0).forEach((m) => m.dispose()));

describe('data-parallel replicas', () => {
  it("a model fed another model's flat gradients stays bit-identical to it, step after step", () => {
    const a = track(GPT.create(C, 5));
    const b = track(GPT.create(C, 5));
    const optA = track(new AdamW(a.vars, a.specs, OPT));
    const optB = track(new AdamW(b.vars, b.specs, OPT));
    const ref = sequenceLogProbs(a, BATCH.seqs);
    let previous = weightsChecksum(a);
    expect(weightsChecksum(b)).toBe(previous);
    for (let step = 0; step < 5; step++) {
      const { grad, loss } = preferenceGradient(a, BATCH, ref, DUAL_CLIP);
      expect([grad.length, Number.isFinite(loss)]).toEqual([a.paramCount, true]);
      // Every parameter gets a gradient, the embeddings too (theirs is a one-hot matMul).
      let off = 0;
      a.specs.forEach((s, i) => {
        const part = grad.subarray(off, (off += a.vars[i].size));
        expect(part.some((x) => x !== 0) && part.every(Number.isFinite), s.name).toBe(true);
      });
      const ra = optA.apply(grad);
      const rb = optB.apply(Float32Array.from(grad)); // a copy, as if it came over the wire
      expect(rb).toEqual(ra);
      const sum = weightsChecksum(a);
      expect(sum).not.toBe(previous);
      expect(weightsChecksum(b)).toBe(sum);
      previous = sum;
    }
    expect(optB.step).toBe(5);
    expect(optB.getState()).toEqual(optA.getState());
  });
});

describe('preference training on a fixed batch', () => {
  it.each([
    ['dual-clip', DUAL_CLIP],
    ['dpo', DPO],
  ])('%s: the loss goes down and the policy learns to prefer the chosen responses', (_n, loss) => {
    const policy = track(GPT.create(C, 21));
    const ref = sequenceLogProbs(policy, BATCH.seqs);
    const opt = track(new AdamW(policy.vars, policy.specs, OPT));
    const losses: number[] = [];
    let last = preferenceGradient(policy, BATCH, ref, loss);
    // Policy = reference at the start: every reward is 0 and the loss is log 2.
    expect(last.loss).toBeCloseTo(Math.log(2), 5);
    expect(last.metrics.margin).toBe(0);
    for (let step = 0; step < 30; step++) {
      opt.apply(last.grad);
      losses.push(last.loss);
      last = preferenceGradient(policy, BATCH, ref, loss);
    }
    expect(last.loss).toBeLessThan(0.5 * losses[0]);
    expect(last.metrics.rewardAccuracy).toBe(1);
    expect(last.metrics.margin).toBeGreaterThan(1);
    // Mostly downhill: the last ten steps are all below the first.
    losses.slice(-10).forEach((l) => expect(l).toBeLessThan(losses[0]));
    // Dual-clip cannot go below −log σ(c_w + c_l) = softplus(−2); DPO has no such floor.
    const floor = Math.log1p(Math.exp(-2));
    if (loss.name === 'dual-clip') {
      losses.forEach((l) => expect(l).toBeGreaterThanOrEqual(floor - 1e-5));
      expect(last.loss).toBeLessThan(floor + 0.05);
      expect(last.metrics.fractionClipped).toBeGreaterThan(0);
    } else {
      expect(last.loss).toBeLessThan(floor);
    }
  });

  it('per-pair weights scale the gradient; malformed batches are refused', () => {
    const policy = track(GPT.create(C, 22));
    const opt = track(new AdamW(policy.vars, policy.specs, OPT));
    const ref = sequenceLogProbs(policy, BATCH.seqs);
    opt.apply(preferenceGradient(policy, BATCH, ref, DPO).grad); // move away from the reference
    const g1 = preferenceGradient(policy, BATCH, ref, DPO);
    const g2 = preferenceGradient(policy, { ...BATCH, weights: new Float32Array([2, 0]) }, ref, DPO);
    const g3 = preferenceGradient(policy, { ...BATCH, weights: new Float32Array([0, 2]) }, ref, DPO);
    // The loss is mean_i w_i·term_i: weights (2, 0) + (0, 2) together give twice the unweighted gradient.
    let maxDiff = 0;
    let scale = 0;
    for (let i = 0; i < g1.grad.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(g2.grad[i] + g3.grad[i] - 2 * g1.grad[i]));
      scale = Math.max(scale, Math.abs(g1.grad[i]));
    }
    expect(scale).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * scale);
    expect(g2.loss + g3.loss).toBeCloseTo(2 * g1.loss, 5);
    expect(() => preferenceGradient(policy, BATCH, ref.subarray(0, 3), DPO)).toThrow(
      /expected 4 reference log-probs, got 3/,
    );
    const odd = { seqs: { ...BATCH.seqs, rows: 3, ids: BATCH.seqs.ids.subarray(0, 3 * BATCH.seqs.seqLen) } };
    expect(() => preferenceGradient(policy, odd, ref, DPO)).toThrow(/even number of rows, got 3/);
  });
});

describe('anchor mask, zero weights and the sft loss', () => {
  const PER_TOKEN: LossConfig = { name: 'dual-clip', beta: 0.1, clipChosen: 0.05, clipRejected: 0.05 };
  const SFT: LossConfig = { name: 'sft', beta: 0.1, clipChosen: Infinity, clipRejected: Infinity };
  const maxAbsDiff = (a: Float32Array, b: Float32Array) =>
    a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
  const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

  it('the NLL anchor applies only to anchored pairs: L = L_pref + α·Σ a_i w_i NLL_i/|y_w| / N', () => {
    const policy = track(GPT.create(C, 23));
    const ref = sequenceLogProbs(policy, BATCH.seqs);
    const alpha = 0.7;
    const pure = preferenceGradient(policy, BATCH, ref, DPO);
    const none = preferenceGradient(policy, { ...BATCH, anchors: new Float32Array([0, 0]) }, ref, {
      ...DPO,
      sftWeight: alpha,
    });
    // No anchored pair: exactly the pure preference loss and gradient.
    expect(none.loss).toBe(pure.loss);
    expect(maxAbsDiff(none.grad, pure.grad)).toBe(0);
    // Anchor on pair 0 only: the added loss is α·NLL_0/|y_w0| / 2, which is the 'sft' loss with weights (1, 0).
    const one = preferenceGradient(policy, { ...BATCH, anchors: new Float32Array([1, 0]) }, ref, {
      ...DPO,
      sftWeight: alpha,
    });
    const sft0 = preferenceGradient(policy, { ...BATCH, weights: new Float32Array([1, 0]) }, ref, SFT);
    expect(one.loss).toBeCloseTo(pure.loss + alpha * sft0.loss, 5);
    const want = pure.grad.map((g, i) => g + alpha * sft0.grad[i]);
    expect(maxAbsDiff(one.grad, want)).toBeLessThanOrEqual(1e-5 * maxAbs(want));
    const before = tf.memory().numTensors;
    expect(() => preferenceGradient(policy, { ...BATCH, anchors: new Float32Array(3) }, ref, DPO)).toThrow(
      /anchors has length 3 but there are 2 pairs/,
    );
    expect(tf.memory().numTensors).toBe(before); // refused before any tensor exists
  });

  it("'sft' is the pair-weighted per-token NLL of the chosen responses and ignores the rejected ones", () => {
    const policy = track(GPT.create(C, 24));
    const ref = sequenceLogProbs(policy, BATCH.seqs);
    const lp = sequenceLogProbs(policy, BATCH.seqs);
    const T = BATCH.seqs.seqLen;
    const lens = [0, 1].map((r) => BATCH.seqs.mask.slice(r * T, (r + 1) * T).reduce((x, y) => x + y, 0));
    const r = preferenceGradient(policy, { ...BATCH, weights: new Float32Array([2, 0.5]) }, ref, SFT);
    expect(r.loss).toBeCloseTo((2 * (-lp[0] / lens[0]) + 0.5 * (-lp[1] / lens[1])) / 2, 4);
    expect(r.metrics.fractionClipped).toBe(0);
    // Changing the rejected responses changes nothing.
    const swapped = encodePairsForScoring(
      [
        { prompt: 'sort 3 1 2', response: '1 2 3' },
        { prompt: 'sort b a', response: 'a b' },
        { prompt: 'sort 3 1 2', response: 'zzz' },
        { prompt: 'sort b a', response: 'q' },
      ],
      C.blockSize,
    );
    const r2 = preferenceGradient(policy, { seqs: swapped, weights: new Float32Array([2, 0.5]) }, ref, SFT);
    expect(r2.loss).toBe(r.loss);
    expect(maxAbsDiff(r2.grad, r.grad)).toBe(0);
  });

  it('a weight-0 pair contributes nothing (shardBatch keeps the 0)', () => {
    const policy = track(GPT.create(C, 25));
    const opt = track(new AdamW(policy.vars, policy.specs, OPT));
    const base = {
      prompt: 'sort 3 1 2',
      chosen: '1 2 3',
      rejected: '3 2 1',
      weight: 1,
      anchor: true,
      refChosen: 0,
      refRejected: 0,
    };
    const pairs = [base, { ...base, prompt: 'sort b a', chosen: 'a b', rejected: 'b a x', weight: 0 }];
    const { batch, ref } = shardBatch(pairs, C.blockSize);
    expect(Array.from(batch.weights!)).toEqual([1, 0]);
    expect(Array.from(batch.anchors!)).toEqual([1, 1]);
    const refLp = sequenceLogProbs(policy, batch.seqs);
    ref.set(refLp);
    opt.apply(preferenceGradient(policy, batch, ref, DPO).grad); // move off the reference
    const both = preferenceGradient(policy, batch, ref, { ...PER_TOKEN, sftWeight: 0.5 });
    const onlyFirst = shardBatch([pairs[0]], C.blockSize);
    onlyFirst.ref.set([ref[0], ref[2]]);
    const first = preferenceGradient(policy, onlyFirst.batch, onlyFirst.ref, {
      ...PER_TOKEN,
      sftWeight: 0.5,
    });
    // Mean over N = 2 pairs with the second weighted 0 is half the single-pair loss and gradient.
    expect(both.loss).toBeCloseTo(first.loss / 2, 5);
    const half = first.grad.map((g) => g / 2);
    expect(maxAbsDiff(both.grad, half)).toBeLessThanOrEqual(1e-5 * maxAbs(half));
  });

  it('per-token dual-clip: clipped fractions per side are reported and training still learns', () => {
    const policy = track(GPT.create(C, 26));
    const ref = sequenceLogProbs(policy, BATCH.seqs);
    const opt = track(new AdamW(policy.vars, policy.specs, OPT));
    let last = preferenceGradient(policy, BATCH, ref, PER_TOKEN);
    expect([last.metrics.fractionChosenClipped, last.metrics.fractionRejectedClipped]).toEqual([0, 0]);
    for (let step = 0; step < 30; step++) {
      opt.apply(last.grad);
      last = preferenceGradient(policy, BATCH, ref, PER_TOKEN);
    }
    // c = 0.05 nats/token is tight: after 30 steps at least one side of some pair is beyond its bound.
    const m = last.metrics;
    expect(m.fractionChosenClipped + m.fractionRejectedClipped).toBeGreaterThan(0);
    expect(m.fractionClipped).toBeGreaterThanOrEqual(
      Math.max(m.fractionChosenClipped, m.fractionRejectedClipped),
    );
    expect(m.rewardAccuracy).toBe(1);
  });
});

describe('learning-rate warm-up', () => {
  it('warmupLr is linear over the first N steps, then the base rate', () => {
    expect([1, 2, 3, 4, 5].map((s) => warmupLr(1, 4, s))).toEqual([0.25, 0.5, 0.75, 1, 1]);
    expect(warmupLr(3e-4, 0, 1)).toBe(3e-4);
    expect(warmupLr(3e-4, undefined, 1)).toBe(3e-4);
  });

  it('scheduledLr: warm-up, then a cosine decay that ends at lr·minLrFraction at decaySteps and holds', () => {
    const o = { lr: 1, warmupSteps: 4, decaySteps: 14, minLrFraction: 0.1 };
    expect([1, 2, 3].map((s) => scheduledLr(o, s))).toEqual([0.25, 0.5, 0.75]);
    expect(scheduledLr(o, 4)).toBe(1);
    expect(scheduledLr(o, 9)).toBeCloseTo(0.55, 12); // half-way: the mean of lr and the floor
    expect(scheduledLr(o, 14)).toBeCloseTo(0.1, 12);
    expect(scheduledLr(o, 40)).toBeCloseTo(0.1, 12);
    const lrs = Array.from({ length: 11 }, (_, i) => scheduledLr(o, 4 + i));
    expect(lrs.every((x, i) => i === 0 || x < lrs[i - 1])).toBe(true);
    // Without decaySteps (or with decaySteps inside the warm-up) it is warmupLr.
    for (const s of [1, 3, 4, 50]) {
      expect(scheduledLr({ lr: 2, warmupSteps: 4 }, s)).toBe(warmupLr(2, 4, s));
      expect(scheduledLr({ lr: 2, warmupSteps: 4, decaySteps: 3 }, s)).toBe(warmupLr(2, 4, s));
    }
    expect(scheduledLr({ lr: 1, decaySteps: 10, minLrFraction: 0 }, 10)).toBeCloseTo(0, 12);
  });

  it('AdamW with warm-up moves less on early steps, and resumes at the same rate from its state', () => {
    const a = track(GPT.create(C, 35));
    const b = track(GPT.create(C, 35));
    const optA = track(new AdamW(a.vars, a.specs, { ...OPT, warmupSteps: 4 }));
    const optB = track(new AdamW(b.vars, b.specs, OPT));
    const before = a.getWeights();
    const g = preferenceGradient(a, BATCH, sequenceLogProbs(a, BATCH.seqs), DPO).grad;
    optA.apply(g);
    optB.apply(g);
    // Adam's first step moves each weight by ≈ lr (sign of the gradient): a quarter of that at step 1 of 4.
    const moved = (w: Float32Array[]) =>
      w.reduce((m, x, i) => m + x.reduce((s, v, j) => s + Math.abs(v - before[i][j]), 0), 0);
    const ratio = moved(a.getWeights()) / moved(b.getWeights());
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.3);
    // A replica restored mid-warm-up continues bit-identically (the rate depends on the step only).
    const c = track(GPT.fromArrays(C, a.getWeights()));
    const optC = track(new AdamW(c.vars, c.specs, { ...OPT, warmupSteps: 4 }));
    optC.setState(optA.getState());
    for (let i = 0; i < 4; i++) {
      optA.apply(g);
      optC.apply(g);
    }
    expect(weightsChecksum(c)).toBe(weightsChecksum(a));
  });
});

describe('AdamW', () => {
  function trained(seed: number, steps: number): { model: GPT; opt: AdamW; grads: Float32Array[] } {
    const model = track(GPT.create(C, seed));
    const opt = track(new AdamW(model.vars, model.specs, OPT));
    const ref = sequenceLogProbs(model, BATCH.seqs);
    const grads: Float32Array[] = [];
    for (let i = 0; i < steps; i++) {
      grads.push(preferenceGradient(model, BATCH, ref, DPO).grad);
      opt.apply(grads[i]);
    }
    return { model, opt, grads };
  }

  it.each([
    ['NaN', NaN],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('refuses a %s gradient, naming the parameter, and changes nothing', (_n, bad) => {
    const { model, opt, grads } = trained(31, 2);
    const sum = weightsChecksum(model);
    const state = opt.getState();
    const target = model.specs.findIndex((s) => s.name === 'h.1.attn.c_proj.w');
    const index = model.vars.slice(0, target).reduce((n, v) => n + v.size, 17);
    const g = Float32Array.from(grads[1]);
    g[index] = bad;
    expect(() => opt.apply(g)).toThrow(NonFiniteGradientError);
    expect(() => opt.apply(g)).toThrow(expect.objectContaining({ param: 'h.1.attn.c_proj.w', index }));
    expect(() => opt.apply(g)).toThrow(`index ${index} (parameter h.1.attn.c_proj.w)`);
    expect(weightsChecksum(model)).toBe(sum);
    expect(opt.getState()).toEqual(state);
    expect(opt.step).toBe(2);
  });

  it('refuses a gradient of the wrong length and changes nothing', () => {
    const { model, opt, grads } = trained(32, 1);
    const sum = weightsChecksum(model);
    const state = opt.getState();
    const n = model.paramCount;
    expect(() => opt.apply(grads[0].subarray(0, n - 1))).toThrow(
      `gradient has ${n - 1} values, the model has ${n}`,
    );
    expect(() => opt.apply(new Float32Array(n + 1))).toThrow(/the model has/);
    expect(weightsChecksum(model)).toBe(sum);
    expect(opt.getState()).toEqual(state);
  });

  it('getState/setState round trip continues bit-identically', () => {
    const { model, opt, grads } = trained(33, 4);
    const state = opt.getState();
    expect(state.step).toBe(4);
    expect(state.m.length).toBe(model.vars.length);
    // A fresh replica restored from weights + optimizer state.
    const copy = track(GPT.fromArrays(C, model.getWeights()));
    const restored = track(new AdamW(copy.vars, copy.specs, OPT));
    restored.setState(state);
    expect(restored.getState()).toEqual(state);
    const ref = sequenceLogProbs(model, BATCH.seqs);
    for (let i = 0; i < 3; i++) {
      const g = preferenceGradient(model, BATCH, ref, DPO).grad;
      opt.apply(g);
      restored.apply(g);
      expect(weightsChecksum(copy)).toBe(weightsChecksum(model));
    }
    expect(restored.getState()).toEqual(opt.getState());
    // Without the state, the same gradients give different weights (the moments matter).
    const fresh = track(GPT.fromArrays(C, copy.getWeights()));
    const freshOpt = track(new AdamW(fresh.vars, fresh.specs, OPT));
    freshOpt.apply(grads[0]);
    opt.apply(grads[0]);
    expect(weightsChecksum(fresh)).not.toBe(weightsChecksum(model));
    expect(() => restored.setState({ ...state, m: state.m.slice(1) })).toThrow(/moments/);
  });

  it('decays only the parameters marked for decay, and clips the global norm in float64', () => {
    const model = track(GPT.create(C, 34));
    const opt = track(new AdamW(model.vars, model.specs, { ...OPT, clipNorm: 3, weightDecay: 0.5 }));
    const before = model.getWeights();
    // A zero gradient leaves only the decay: p ← p·(1 − lr·wd) for 2-D weights, nothing else moves.
    const g = new Float32Array(model.paramCount);
    opt.apply(g);
    const factor = Math.fround(1 - OPT.lr * 0.5);
    const after = model.getWeights();
    expect(model.specs.filter((s) => s.decay).map((s) => s.name)).toContain('wte');
    model.specs.forEach((s, i) =>
      expect(after[i]).toEqual(s.decay ? before[i].map((x) => x * factor) : before[i]),
    );
    g[0] = 3;
    g[g.length - 1] = 4;
    expect(opt.apply(g)).toEqual({ gradNorm: 5, clipped: true });
    expect(opt.apply(g.map((x) => x / 2))).toEqual({ gradNorm: 2.5, clipped: false });
  });
});

describe('flat gradients', () => {
  it('computeFlatGradient is in parameter order, with zeros for untouched parameters', () => {
    const model = track(GPT.create(C, 41));
    const { loss, grad } = computeFlatGradient(model, () => tf.sum(tf.square(model.p('wpe'))));
    const w = model.getWeights();
    const offWpe = w[0].length;
    let want = 0;
    w[1].forEach((x) => (want += x * x));
    expect(loss).toBeCloseTo(want, 4);
    let strayNonZero = 0;
    grad.forEach((g, i) => {
      if ((i < offWpe || i >= offWpe + w[1].length) && g !== 0) strayNonZero++;
    });
    expect(grad.length).toBe(model.paramCount);
    expect(strayNonZero).toBe(0);
    w[1].forEach((x, j) => expect(grad[offWpe + j]).toBeCloseTo(2 * x, 6));
  });

  it('averageGradients is the fixed-order float64 weighted mean', () => {
    const a = new Float32Array([1, 2, 3, 1e8]);
    const b = new Float32Array([3, -2, 0.5, 1]);
    const c = new Float32Array([0.1, 0.2, 0.3, -1e8]);
    expect(toFloat(averageGradients([a, b]))).toEqual([2, 0, 1.75, Math.fround((1e8 + 1) / 2)]);
    expect(toFloat(averageGradients([a, b], [3, 1]))).toEqual(
      [0, 1, 2, 3].map((i) => Math.fround((a[i] * 3 + b[i]) / 4)),
    );
    const want = [0, 1, 2, 3].map((i) => Math.fround((a[i] + b[i] + c[i]) / 3));
    const got = averageGradients([a, b, c]);
    expect(toFloat(got)).toEqual(want);
    expect(got[3]).toBe(Math.fround(1 / 3)); // accumulated in float64: float32 would lose the 1 next to 1e8
    expect(toFloat(averageGradients([a, b, c]))).toEqual(toFloat(got)); // deterministic
    expect(() => averageGradients([])).toThrow(/no gradients/);
    expect(() => averageGradients([a, new Float32Array(3)])).toThrow(/gradient 1 has 3 values, expected 4/);
  });
});

describe('memory', () => {
  it('a model and its optimizer release every tensor and byte on dispose()', () => {
    const { numTensors, numBytes } = tf.memory();
    const model = GPT.create(C, 50);
    new AdamW(model.vars, model.specs, OPT).dispose();
    model.dispose();
    expect(tf.memory()).toMatchObject({ numTensors, numBytes });
  });

  it('20 training steps leave as many tensors as the first one', () => {
    const model = track(GPT.create(C, 51));
    const opt = track(new AdamW(model.vars, model.specs, OPT));
    const ref = sequenceLogProbs(model, BATCH.seqs);
    const step = () => opt.apply(preferenceGradient(model, BATCH, ref, DUAL_CLIP).grad);
    step();
    const after1 = tf.memory().numTensors;
    for (let i = 1; i < 20; i++) {
      step();
      sequenceLogProbs(model, BATCH.seqs);
    }
    expect(tf.memory().numTensors).toBe(after1);
  });

  it('20 generate() calls leave as many tensors as the first one', () => {
    const model = track(GPT.create(C, 52));
    const prompts = [promptIds('abc'), promptIds('a longer prompt')];
    const opts = { temperature: 1, topK: 0, topP: 1, maxNewTokens: 6, eosId: EOS_ID, padId: PAD_ID };
    generate(model, prompts, { ...opts, seed: 0 });
    const after1 = tf.memory().numTensors;
    for (let i = 1; i < 20; i++) generate(model, prompts, { ...opts, seed: i });
    expect(tf.memory().numTensors).toBe(after1);
  });
});
