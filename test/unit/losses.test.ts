import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { dpoLoss, dualClipLoss, ipoLoss, preferenceLoss } from '../../src/tso/losses.js';
import type { DualClipOptions, LossName, PreferenceLogProbs } from '../../src/tso/losses.js';
import { preferenceMetrics } from '../../src/tso/preference-metrics.js';

/** Plain arrays for the four log-prob vectors: [policyChosen, policyRejected, refChosen, refRejected]. */
type Raw = [number[], number[], number[], number[]];

function toLp([pc, pr, rc, rr]: Raw): PreferenceLogProbs {
  return {
    policyChosen: tf.tensor1d(pc),
    policyRejected: tf.tensor1d(pr),
    refChosen: tf.tensor1d(rc),
    refRejected: tf.tensor1d(rr),
  };
}

function disposeLp(lp: PreferenceLogProbs): void {
  tf.dispose([lp.policyChosen, lp.policyRejected, lp.refChosen, lp.refRejected]);
}

/** Runs a loss on raw arrays and returns its value, disposing everything. */
function lossValue(name: LossName, raw: Raw, opts: DualClipOptions): number {
  const lp = toLp(raw);
  try {
    const loss = preferenceLoss(name, lp, opts);
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  } finally {
    disposeLp(lp);
  }
}

// Independent float64 implementation of the three definitions (DESIGN.md), for cross-checking.
const softplus64 = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
function loss64(name: LossName, [pc, pr, rc, rr]: Raw, o: DualClipOptions): number {
  const w = o.weights === undefined ? undefined : Array.from(o.weights as number[]);
  let total = 0;
  for (let i = 0; i < pc.length; i++) {
    const rw = o.beta * (pc[i] - rc[i]);
    const rl = o.beta * (pr[i] - rr[i]);
    let term: number;
    if (name === 'dpo') term = softplus64(-(rw - rl));
    else if (name === 'ipo') term = ((rw - rl) / o.beta - 1 / (2 * o.beta)) ** 2;
    else term = softplus64(-(Math.min(rw, o.clipChosen) - Math.max(rl, -o.clipRejected)));
    total += (w ? w[i] : 1) * term;
  }
  return total / pc.length;
}

/** Seeded PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random float32-representable pairs; with `kinkGap`, rewards stay that far from the clip bounds. */
function randomCase(seed: number, n: number, kinkGap = 0): { raw: Raw; opts: DualClipOptions } {
  const r = rng(seed);
  const u = (lo: number, hi: number): number => Math.fround(lo + (hi - lo) * r());
  const beta = u(0.05, 0.5);
  const opts: DualClipOptions = { beta, clipChosen: u(0.2, 1.5), clipRejected: u(0.2, 1.5) };
  const raw: Raw = [[], [], [], []];
  while (raw[0].length < n) {
    const [pc, pr] = [u(-40, -1), u(-40, -1)];
    const [rc, rr] = [Math.fround(pc + u(-8, 8)), Math.fround(pr + u(-8, 8))];
    const rw = beta * (pc - rc);
    const rl = beta * (pr - rr);
    if (Math.abs(rw - opts.clipChosen) < kinkGap || Math.abs(rl + opts.clipRejected) < kinkGap) continue;
    [pc, pr, rc, rr].forEach((v, k) => raw[k].push(v));
  }
  opts.weights = raw[0].map(() => u(0, 3));
  return { raw, opts };
}

const close = (actual: number, expected: number, tol: number): void =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));

// Hand example, β = 0.5:
//   pair 1: r_w = 0.5·(−1 − (−2)) = 0.5,  r_l = 0.5·(−3 − (−2)) = −0.5
//   pair 2: r_w = 0.5·(−2 − (−2)) = 0,    r_l = 0.5·(−1 − (−2)) = 0.5
const HAND: Raw = [
  [-1, -2],
  [-3, -1],
  [-2, -2],
  [-2, -2],
];

const BACKENDS = ['cpu', 'wasm'] as const;

describe.each(BACKENDS)('preference losses on %s', (backend) => {
  let tensorsBefore = 0;
  beforeAll(async () => {
    const info = await initBackend(backend);
    expect(tf.getBackend()).toBe(info.name);
  });
  beforeEach(() => {
    tensorsBefore = tf.memory().numTensors;
  });
  afterEach(() => {
    // No test may leak: every loss, metric and error path disposes what it creates.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('matches hand-computed values', () => {
    const o = { beta: 0.5, clipChosen: 0.25, clipRejected: 0.25 };
    // DPO: margins 1 and −0.5 → softplus(−1) = 0.313261687518, softplus(0.5) = 0.974076984180
    close(lossValue('dpo', HAND, o), (0.31326168751822286 + 0.9740769841801067) / 2, 1e-6);
    // Weighted, divided by N = 2 (not by Σw): (2·0.313261687518 + 0.5·0.974076984180) / 2
    close(lossValue('dpo', HAND, { ...o, weights: [2, 0.5] }), 0.5567809335632495, 1e-6);
    // IPO: h = (r_w − r_l)/β = 2 and −1; 1/(2β) = 1 → (2 − 1)² = 1, (−1 − 1)² = 4 → mean 2.5
    close(lossValue('ipo', HAND, o), 2.5, 1e-6);
    close(lossValue('ipo', HAND, { ...o, weights: [2, 0.5] }), (2 * 1 + 0.5 * 4) / 2, 1e-6);
    // Dual-clip, c = 0.25: pair 1 → min(0.5, 0.25) − max(−0.5, −0.25) = 0.5 → softplus(−0.5) = 0.474077
    //                      pair 2 → min(0, 0.25) − max(0.5, −0.25) = −0.5 → softplus(0.5) = 0.974077
    close(lossValue('dual-clip', HAND, o), (0.4740769841801067 + 0.9740769841801067) / 2, 1e-6);
    // With clips far away dual-clip is plain DPO.
    close(
      lossValue('dual-clip', HAND, { ...o, clipChosen: Infinity, clipRejected: 10 }),
      lossValue('dpo', HAND, o),
      1e-7,
    );
  });

  it('matches an independent float64 implementation on random inputs', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { raw, opts } = randomCase(seed, 1 + (seed % 7) * 5);
      for (const name of ['dual-clip', 'dpo', 'ipo'] as const) {
        close(lossValue(name, raw, opts), loss64(name, raw, opts), 1e-5);
        close(
          lossValue(name, raw, { ...opts, weights: undefined }),
          loss64(name, raw, { ...opts, weights: undefined }),
          1e-5,
        );
      }
    }
  });

  it('stays finite for huge margins (stable log-sigmoid)', () => {
    const o = { beta: 0.1, clipChosen: 1, clipRejected: 1 };
    // r_w − r_l = 0.1·(0 − (−10000)) − 0.1·(−10000 − 0) = 2000 → loss ≈ 0; reversed → 2000.
    const good: Raw = [[0], [-10000], [-10000], [0]];
    const bad: Raw = [[-10000], [0], [0], [-10000]];
    close(lossValue('dpo', good, o), 0, 1e-6);
    close(lossValue('dpo', bad, o), 2000, 1e-6);
    // Dual-clip bounds the margin at c_w + c_l = 2 → softplus(∓2).
    close(lossValue('dual-clip', good, o), softplus64(-2), 1e-6);
    close(lossValue('dual-clip', bad, o), 2000, 1e-6);
  });

  it('has gradients w.r.t. the policy log-probs equal to finite differences', () => {
    const h = 1e-4;
    for (let seed = 100; seed < 106; seed++) {
      const { raw, opts } = randomCase(seed, 8, 0.05);
      for (const name of ['dual-clip', 'dpo', 'ipo'] as const) {
        const lp = toLp(raw);
        const f = (pc: tf.Tensor, pr: tf.Tensor): tf.Scalar =>
          preferenceLoss(
            name,
            { ...lp, policyChosen: pc as tf.Tensor1D, policyRejected: pr as tf.Tensor1D },
            opts,
          );
        const grads = tf.grads(f)([lp.policyChosen, lp.policyRejected]);
        const [gpc, gpr] = grads.map((g) => Array.from(g.dataSync()));
        tf.dispose(grads);
        disposeLp(lp);
        for (const [k, g] of [[0, gpc] as const, [1, gpr] as const]) {
          for (let i = 0; i < g.length; i++) {
            const plus = raw.map((v) => [...v]) as Raw;
            const minus = raw.map((v) => [...v]) as Raw;
            plus[k][i] += h;
            minus[k][i] -= h;
            const fd = (loss64(name, plus, opts) - loss64(name, minus, opts)) / (2 * h);
            close(g[i], fd, 1e-5);
          }
        }
      }
    }
  });

  it('passes exactly zero gradient beyond the dual-clip bounds', () => {
    const opts = { beta: 0.5, clipChosen: 1, clipRejected: 1 };
    // pair 0: r_w = 0.5·(−1 − (−5)) = 2 > c_w (clipped), r_l = 0 (free)
    // pair 1: r_w = 0 (free), r_l = 0.5·(−9 − (−3)) = −3 < −c_l (clipped)
    const lp = toLp([
      [-1, -2],
      [-4, -9],
      [-5, -2],
      [-4, -3],
    ]);
    const gradsOf = (name: LossName): number[][] => {
      const f = (pc: tf.Tensor, pr: tf.Tensor): tf.Scalar =>
        preferenceLoss(
          name,
          { ...lp, policyChosen: pc as tf.Tensor1D, policyRejected: pr as tf.Tensor1D },
          opts,
        );
      const grads = tf.grads(f)([lp.policyChosen, lp.policyRejected]);
      const out = grads.map((g) => Array.from(g.dataSync()));
      tf.dispose(grads);
      return out;
    };
    const [gpc, gpr] = gradsOf('dual-clip');
    expect(Math.abs(gpc[0])).toBe(0);
    expect(Math.abs(gpr[1])).toBe(0);
    // The unclipped side of each pair still learns: chosen pushed up, rejected pushed down.
    expect(gpc[1]).toBeLessThan(0);
    expect(gpr[0]).toBeGreaterThan(0);
    // Plain DPO keeps pushing the same entries (what the clip is there to stop).
    const [dpc, dpr] = gradsOf('dpo');
    expect(dpc[0]).toBeLessThan(0);
    expect(dpr[1]).toBeGreaterThan(0);
    disposeLp(lp);
  });

  it('computes preference metrics on a hand example', () => {
    // β = 0.5: r_w = [0.5, 0, 2, 0], r_l = [−0.5, 0.5, 0, −1]
    const lp = toLp([
      [-1, -2, 2, -1],
      [-3, -1, -1, -3],
      [-2, -2, -2, -1],
      [-2, -2, -1, -1],
    ]);
    const m = preferenceMetrics(lp, { beta: 0.5, clipChosen: 1, clipRejected: 0.25 });
    expect(m).toEqual({
      rewardAccuracy: 0.75, // r_w > r_l for pairs 1, 3, 4
      margin: 0.875, // mean(1, −0.5, 2, 1)
      chosenReward: 0.625, // mean(0.5, 0, 2, 0)
      rejectedReward: -0.25, // mean(−0.5, 0.5, 0, −1)
      fractionClipped: 0.75, // pairs 1, 3, 4
      fractionChosenClipped: 0.25, // r_w > 1: pair 3
      fractionRejectedClipped: 0.5, // r_l < −0.25: pairs 1, 4
      pairs: 4,
    });
    const noClip = preferenceMetrics(lp, { beta: 0.5 });
    expect([noClip.fractionClipped, noClip.fractionChosenClipped, noClip.fractionRejectedClipped]).toEqual([
      0, 0, 0,
    ]);
    disposeLp(lp);
  });

  it('leaves caller-owned weight tensors alive', () => {
    const lp = toLp(HAND);
    const w = tf.tensor1d([2, 0.5]);
    const loss = dpoLoss(lp, { beta: 0.5, weights: w });
    close(loss.dataSync()[0], 0.5567809335632495, 1e-6);
    expect(w.isDisposed).toBe(false);
    tf.dispose([loss, w]);
    disposeLp(lp);
  });

  it('rejects invalid inputs with clear messages', () => {
    const lp = toLp(HAND);
    const o = { beta: 0.5, clipChosen: 1, clipRejected: 1 };
    const bad = (fn: () => unknown, msg: RegExp): void => expect(fn).toThrow(msg);
    const m2 = tf.tensor2d([[1, 2]]);
    const short = tf.tensor1d([1]);
    const empty = tf.tensor1d([]);
    const ints = tf.tensor1d([1, 2], 'int32');
    const nanW = tf.tensor1d([1, NaN]);
    bad(() => dpoLoss({ ...lp, refChosen: m2 as unknown as tf.Tensor1D }, o), /refChosen must be 1-D/);
    bad(() => ipoLoss({ ...lp, policyRejected: short }, o), /length mismatch.*policyRejected has 1/);
    bad(
      () => dpoLoss({ policyChosen: empty, policyRejected: empty, refChosen: empty, refRejected: empty }, o),
      /no pairs/,
    );
    bad(() => dpoLoss({ ...lp, refRejected: ints as tf.Tensor1D }, o), /refRejected must be float32/);
    for (const beta of [0, -1, NaN, Infinity]) bad(() => dualClipLoss(lp, { ...o, beta }), /beta must be/);
    bad(() => dualClipLoss(lp, { ...o, clipChosen: 0 }), /clipChosen must be a number > 0/);
    bad(() => dualClipLoss(lp, { ...o, clipRejected: -1 }), /clipRejected must be a number > 0/);
    bad(() => preferenceMetrics(lp, { beta: 0.5, clipRejected: NaN }), /clipRejected/);
    bad(() => dpoLoss(lp, { ...o, weights: [1] }), /weights has length 1 but there are 2 pairs/);
    bad(() => dpoLoss(lp, { ...o, weights: [1, -0.5] }), /weights\[1\] must be finite and >= 0/);
    bad(() => ipoLoss(lp, { ...o, weights: nanW }), /weights\[1\] must be finite and >= 0, got NaN/);
    bad(() => preferenceLoss('kto' as LossName, lp, o), /unknown loss "kto"/);
    tf.dispose([m2, short, empty, ints, nanW]);
    disposeLp(lp);
  });
});
