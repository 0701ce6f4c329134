// The losses imported from the public surface (src/index.ts) against an independent float64
// implementation of the definitions in DESIGN.md.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dpoLoss, dualClipLoss, initBackend, ipoLoss } from '../../src/index.js';

const logSigmoid = (z: number) => (z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z)));

function reference(
  name: 'dpo' | 'ipo' | 'dual',
  pc: number[],
  pr: number[],
  rc: number[],
  rr: number[],
  w: number[],
  beta: number,
  cw: number,
  cl: number,
): number {
  let s = 0;
  for (let i = 0; i < pc.length; i++) {
    const rw = beta * (pc[i] - rc[i]);
    const rl = beta * (pr[i] - rr[i]);
    const term =
      name === 'dpo'
        ? -logSigmoid(rw - rl)
        : name === 'ipo'
          ? ((rw - rl) / beta - 1 / (2 * beta)) ** 2
          : -logSigmoid(Math.min(rw, cw) - Math.max(rl, -cl));
    s += w[i] * term;
  }
  return s / pc.length;
}

describe('public losses (src/index.ts)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('match an independent float64 implementation to 1e-5', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (let trial = 0; trial < 10; trial++) {
      const n = 3 + trial;
      const gen = (scale: number) => Array.from({ length: n }, () => rand() * scale - 20);
      const [pc, pr, rc, rr] = [gen(15), gen(15), gen(15), gen(15)];
      const w = Array.from({ length: n }, () => 0.5 + Math.abs(rand()));
      const beta = 0.1 + Math.abs(rand()) * 0.4;
      const lp = {
        policyChosen: tf.tensor1d(pc),
        policyRejected: tf.tensor1d(pr),
        refChosen: tf.tensor1d(rc),
        refRejected: tf.tensor1d(rr),
      };
      const check = (got: tf.Scalar, want: number) => {
        expect(Math.abs(got.dataSync()[0] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
        got.dispose();
      };
      check(dpoLoss(lp, { beta, weights: w }), reference('dpo', pc, pr, rc, rr, w, beta, 0, 0));
      check(ipoLoss(lp, { beta, weights: w }), reference('ipo', pc, pr, rc, rr, w, beta, 0, 0));
      check(
        // Sequence units: the clips bound the reward itself (per-token units, the default, need lengths).
        dualClipLoss(lp, { beta, weights: w, clipChosen: 0.5, clipRejected: 0.8, clipUnits: 'sequence' }),
        reference('dual', pc, pr, rc, rr, w, beta, 0.5, 0.8),
      );
      tf.dispose(Object.values(lp));
    }
  });
});
