import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { dpoLoss, dualClipLoss, ipoLoss, preferenceLoss, sftLoss } from '../../src/tso/losses.js';
import type { ClipUnits, DualClipOptions, LossName, PreferenceLogProbs } from '../../src/tso/losses.js';
import { preferenceMetrics } from '../../src/tso/preference-metrics.js';

/** Plain arrays for the four log-prob vectors: [policyChosen, policyRejected, refChosen, refRejected]. */
type Raw = [number[], number[], number[], number[]];
/** Response lengths [|y_w|, |y_l|] per pair. */
type Lens = [number[], number[]];

function toLp([pc, pr, rc, rr]: Raw, lens?: Lens): PreferenceLogProbs {
  return {
    policyChosen: tf.tensor1d(pc),
    policyRejected: tf.tensor1d(pr),
    refChosen: tf.tensor1d(rc),
    refRejected: tf.tensor1d(rr),
    ...(lens ? { chosenLengths: tf.tensor1d(lens[0]), rejectedLengths: tf.tensor1d(lens[1]) } : {}),
  };
}

function disposeLp(lp: PreferenceLogProbs): void {
  tf.dispose([lp.policyChosen, lp.policyRejected, lp.refChosen, lp.refRejected]);
  tf.dispose([lp.chosenLengths, lp.rejectedLengths].filter((t): t is tf.Tensor1D => t !== undefined));
}

/** Runs a loss on raw arrays and returns its value, disposing everything. */
function lossValue(name: LossName, raw: Raw, opts: DualClipOptions, lens?: Lens): number {
  const lp = toLp(raw, lens);
  try {
    const loss = preferenceLoss(name, lp, opts);
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  } finally {
    disposeLp(lp);
  }
}

// Independent float64 implementation of the definitions (DESIGN.md), for cross-checking. The
// per-token clip is written as a clip on the mean per-token log-ratio, its defining form.
const softplus64 = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
function loss64(name: LossName, [pc, pr, rc, rr]: Raw, o: DualClipOptions, lens?: Lens): number {
  const w = o.weights === undefined ? undefined : Array.from(o.weights as number[]);
  const perToken = (o.clipUnits ?? 'per-token') === 'per-token';
  let total = 0;
  for (let i = 0; i < pc.length; i++) {
    const rw = o.beta * (pc[i] - rc[i]);
    const rl = o.beta * (pr[i] - rr[i]);
    let term: number;
    if (name === 'dpo') term = softplus64(-(rw - rl));
    else if (name === 'ipo') term = ((rw - rl) / o.beta - 1 / (2 * o.beta)) ** 2;
    else if (name === 'sft') term = -pc[i] / lens![0][i];
    else if (perToken) {
      const [lw, ll] = [lens![0][i], lens![1][i]];
      const cw = Math.min((pc[i] - rc[i]) / lw, o.clipChosen) * lw * o.beta;
      const cl = Math.max((pr[i] - rr[i]) / ll, -o.clipRejected) * ll * o.beta;
      term = softplus64(-(cw - cl));
    } else term = softplus64(-(Math.min(rw, o.clipChosen) - Math.max(rl, -o.clipRejected)));
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

/**
 * Random float32-representable pairs with response lengths 1..12; with `kinkGap`, the clipped
 * quantity (reward in sequence units, mean per-token log-ratio per token) stays that far from its bound.
 * Per-token clips are drawn around typical per-token log-ratios so that both sides bind on some pairs.
 */
function randomCase(
  seed: number,
  n: number,
  units: ClipUnits,
  kinkGap = 0,
): { raw: Raw; lens: Lens; opts: DualClipOptions } {
  const r = rng(seed);
  const u = (lo: number, hi: number): number => Math.fround(lo + (hi - lo) * r());
  const beta = u(0.05, 0.5);
  const [lo, hi] = units === 'sequence' ? [0.2, 1.5] : [0.1, 1];
  const opts: DualClipOptions = { beta, clipChosen: u(lo, hi), clipRejected: u(lo, hi), clipUnits: units };
  const raw: Raw = [[], [], [], []];
  const lens: Lens = [[], []];
  while (raw[0].length < n) {
    const [pc, pr] = [u(-40, -1), u(-40, -1)];
    const [rc, rr] = [Math.fround(pc + u(-8, 8)), Math.fround(pr + u(-8, 8))];
    const [lw, ll] = [1 + Math.floor(r() * 12), 1 + Math.floor(r() * 12)];
    const [xw, xl] =
      units === 'sequence' ? [beta * (pc - rc), beta * (pr - rr)] : [(pc - rc) / lw, (pr - rr) / ll];
    if (Math.abs(xw - opts.clipChosen) < kinkGap || Math.abs(xl + opts.clipRejected) < kinkGap) continue;
    [pc, pr, rc, rr].forEach((v, k) => raw[k].push(v));
    lens[0].push(lw);
    lens[1].push(ll);
  }
  opts.weights = raw[0].map(() => u(0, 3));
  return { raw, lens, opts };
}

const ALL_LOSSES = ['dual-clip', 'dpo', 'ipo', 'sft'] as const;
const UNITS: readonly ClipUnits[] = ['per-token', 'sequence'];

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
    const o: DualClipOptions = { beta: 0.5, clipChosen: 0.25, clipRejected: 0.25, clipUnits: 'sequence' };
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

  it('matches hand-computed per-token clipping and the sft loss', () => {
    // Same HAND pairs, β = 0.5, lengths |y_w| = [2, 1], |y_l| = [4, 1]. Per-token log-ratios:
    //   chosen [1/2, 0], rejected [−1/4, 1]. c_w = 0.25, c_l = 0.2:
    //   pair 1: chosen 0.5 > 0.25 → bound β·c_w·|y_w| = 0.25; rejected −0.25 < −0.2 → bound −0.4
    //           z = 0.25 − (−0.4) = 0.65
    //   pair 2: both free, z = 0 − 0.5 = −0.5
    const lens: Lens = [
      [2, 1],
      [4, 1],
    ];
    const o: DualClipOptions = { beta: 0.5, clipChosen: 0.25, clipRejected: 0.2 };
    close(lossValue('dual-clip', HAND, o, lens), (softplus64(-0.65) + softplus64(0.5)) / 2, 1e-6);
    // 'sft': mean_i w_i·(−log π(y_w))/|y_w| = (2·1/2 + 0.5·2/1) / 2 = 1; rejected sides do not count.
    close(lossValue('sft', HAND, { ...o, weights: [2, 0.5] }, lens), 1, 1e-6);
    close(lossValue('sft', HAND, o, lens), (0.5 + 2) / 2, 1e-6);
  });

  it('matches an independent float64 implementation on random inputs', () => {
    for (const units of UNITS) {
      for (let seed = 1; seed <= 20; seed++) {
        const { raw, lens, opts } = randomCase(seed, 1 + (seed % 7) * 5, units);
        for (const name of ALL_LOSSES) {
          close(lossValue(name, raw, opts, lens), loss64(name, raw, opts, lens), 1e-5);
          const unweighted = { ...opts, weights: undefined };
          close(lossValue(name, raw, unweighted, lens), loss64(name, raw, unweighted, lens), 1e-5);
        }
      }
    }
  });

  it('per-token clips bind on some pairs and sides, so the random check exercises them', () => {
    let chosen = 0;
    let rejected = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const { raw, lens, opts } = randomCase(seed, 1 + (seed % 7) * 5, 'per-token');
      const lp = toLp(raw, lens);
      const m = preferenceMetrics(lp, opts);
      disposeLp(lp);
      chosen += m.fractionChosenClipped * m.pairs;
      rejected += m.fractionRejectedClipped * m.pairs;
    }
    expect(chosen).toBeGreaterThan(5);
    expect(rejected).toBeGreaterThan(5);
  });

  it('stays finite for huge margins (stable log-sigmoid)', () => {
    const o: DualClipOptions = { beta: 0.1, clipChosen: 1, clipRejected: 1, clipUnits: 'sequence' };
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
    for (const [units, seed] of UNITS.flatMap((u) =>
      [100, 101, 102, 103, 104, 105].map((s) => [u, s] as const),
    )) {
      const { raw, lens, opts } = randomCase(seed, 8, units, 0.05);
      for (const name of ALL_LOSSES) {
        const lp = toLp(raw, lens);
        const f = (pc: tf.Tensor, pr: tf.Tensor): tf.Scalar =>
          preferenceLoss(
            name,
            { ...lp, policyChosen: pc as tf.Tensor1D, policyRejected: pr as tf.Tensor1D },
            opts,
          );
        // 'sft' does not depend on the rejected side at all (tf.grads refuses such an input).
        const grads =
          name === 'sft'
            ? [tf.grad((pc: tf.Tensor) => f(pc, lp.policyRejected))(lp.policyChosen)]
            : tf.grads(f)([lp.policyChosen, lp.policyRejected]);
        const [gpc, gpr = new Array<number>(gpc.length).fill(0)] = grads.map((g) => Array.from(g.dataSync()));
        tf.dispose(grads);
        disposeLp(lp);
        for (const [k, g] of [[0, gpc] as const, [1, gpr] as const]) {
          for (let i = 0; i < g.length; i++) {
            const plus = raw.map((v) => [...v]) as Raw;
            const minus = raw.map((v) => [...v]) as Raw;
            plus[k][i] += h;
            minus[k][i] -= h;
            const fd = (loss64(name, plus, opts, lens) - loss64(name, minus, opts, lens)) / (2 * h);
            close(g[i], fd, 1e-5);
          }
        }
      }
    }
  });

  it.each(UNITS)('passes exactly zero gradient beyond the dual-clip bounds (%s units)', (units) => {
    // Sequence, c = 1: pair 0: r_w = 0.5·(−1 − (−5)) = 2 > c_w (clipped), r_l = 0 (free);
    //                  pair 1: r_w = 0 (free), r_l = 0.5·(−9 − (−3)) = −3 < −c_l (clipped).
    // Per-token, c = 0.5, every length 2: pair 0 chosen log-ratio 4/2 = 2 > 0.5;
    //                  pair 1 rejected −6/2 = −3 < −0.5; the other sides are at 0 (free).
    const c = units === 'sequence' ? 1 : 0.5;
    const opts: DualClipOptions = { beta: 0.5, clipChosen: c, clipRejected: c, clipUnits: units };
    const lp = toLp(
      [
        [-1, -2],
        [-4, -9],
        [-5, -2],
        [-4, -3],
      ],
      [
        [2, 2],
        [2, 2],
      ],
    );
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
    const m = preferenceMetrics(lp, { beta: 0.5, clipChosen: 1, clipRejected: 0.25, clipUnits: 'sequence' });
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

  it('counts per-token clipped sides in the units of the loss', () => {
    // Log-ratios: chosen [1, 0, 4, 0], rejected [−1, 1, 0, −2]; lengths |y_w| = [4, 1, 2, 1],
    // |y_l| = [2, 1, 1, 8]. Per token: chosen [0.25, 0, 2, 0], rejected [−0.5, 1, 0, −0.25].
    // c_w = 1, c_l = 0.3: chosen clipped on pair 3; rejected on pair 1 (−0.5 < −0.3) only.
    const lp = toLp(
      [
        [-1, -2, 2, -1],
        [-3, -1, -1, -3],
        [-2, -2, -2, -1],
        [-2, -2, -1, -1],
      ],
      [
        [4, 1, 2, 1],
        [2, 1, 1, 8],
      ],
    );
    const m = preferenceMetrics(lp, { beta: 0.5, clipChosen: 1, clipRejected: 0.3 });
    expect([m.fractionChosenClipped, m.fractionRejectedClipped, m.fractionClipped]).toEqual([
      0.25, 0.25, 0.5,
    ]);
    // In sequence units the same c would clip different pairs (rewards 0.5·log-ratio).
    const seq = preferenceMetrics(lp, { beta: 0.5, clipChosen: 1, clipRejected: 0.3, clipUnits: 'sequence' });
    expect([seq.fractionChosenClipped, seq.fractionRejectedClipped]).toEqual([0.25, 0.5]);
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
    const o: DualClipOptions = { beta: 0.5, clipChosen: 1, clipRejected: 1 };
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
    // Per-token units (the default) and the sft loss need the response lengths.
    bad(() => dualClipLoss(lp, o), /chosenLengths is required for per-token clip units/);
    bad(() => sftLoss(lp, o), /chosenLengths is required for the 'sft' loss/);
    bad(() => dualClipLoss({ ...lp, chosenLengths: short }, o), /chosenLengths must be a live float32/);
    bad(() => dualClipLoss(lp, { ...o, clipUnits: 'tokens' as ClipUnits }), /clipUnits must be one of/);
    tf.dispose([m2, short, empty, ints, nanW]);
    disposeLp(lp);
  });
});
