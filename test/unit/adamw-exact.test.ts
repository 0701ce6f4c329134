// The plain-array AdamW (src/model/adamw.ts) must give the bits of the tensor-op AdamW it replaced: the
// shipped models and recorded runs were made with that version, and `make pretrain` reproduces their
// SHA-256s only if the update is unchanged. The reference below is that version, verbatim in its
// arithmetic (float32 tensor ops on the wasm backend, in the same order).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { AdamW, DEFAULT_ADAMW, warmupLr, type AdamWOptions } from '../../src/model/adamw.js';
import { weightsChecksum } from '../../src/model/checkpoint.js';
import type { GPTConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { mulberry32 } from '../../src/model/seeded-normal.js';

const C: GPTConfig = { vocabSize: 259, blockSize: 32, nLayer: 2, nHead: 2, dModel: 32 };

/** The former AdamW.apply: m and v as tensors, every step a chain of float32 tensor ops. */
function tensorAdamW(model: GPT, o: AdamWOptions) {
  const m = model.vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  const v = model.vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  let step = 0;
  return {
    apply(flat: Float32Array) {
      let sq = 0;
      for (let i = 0; i < flat.length; i++) sq += flat[i] * flat[i];
      const gradNorm = Math.sqrt(sq);
      const clipped = o.clipNorm > 0 && Number.isFinite(o.clipNorm) && gradNorm > o.clipNorm;
      const scale = clipped ? o.clipNorm / (gradNorm + 1e-6) : 1;
      step += 1;
      const lr = warmupLr(o.lr, o.warmupSteps, step);
      const bc1 = 1 - Math.pow(o.beta1, step);
      const bc2 = 1 - Math.pow(o.beta2, step);
      tf.tidy(() => {
        let offset = 0;
        model.vars.forEach((p, i) => {
          const g = tf.mul(tf.tensor(flat.subarray(offset, offset + p.size), p.shape, 'float32'), scale);
          offset += p.size;
          const mi = tf.add(tf.mul(m[i], o.beta1), tf.mul(g, 1 - o.beta1));
          const vi = tf.add(tf.mul(v[i], o.beta2), tf.mul(tf.square(g), 1 - o.beta2));
          const update = tf.div(tf.div(mi, bc1), tf.add(tf.sqrt(tf.div(vi, bc2)), o.eps));
          const decayed = model.specs[i].decay && o.weightDecay > 0 ? tf.mul(p, 1 - lr * o.weightDecay) : p;
          p.assign(tf.sub(decayed, tf.mul(update, lr)));
          m[i].assign(mi);
          v[i].assign(vi);
        });
      });
    },
    dispose: () => tf.dispose([...m, ...v]),
  };
}

/** Gradients of mixed magnitudes, some large enough to clip, some tiny (subnormal squares). */
function gradients(n: number, steps: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  return Array.from({ length: steps }, (_, s) =>
    Float32Array.from({ length: n }, (_, i) => {
      const x = rand() - 0.5;
      if (i % 97 === 0) return x * 1e-21;
      if (i % 13 === 0) return 0;
      return x * (s % 3 === 0 ? 0.2 : 1e-3);
    }),
  );
}

beforeAll(() => initBackend('wasm').then(() => undefined));

describe('AdamW on plain arrays', () => {
  const cases: [string, AdamWOptions][] = [
    ['default, clipping', { ...DEFAULT_ADAMW, lr: 3e-3 }],
    [
      'warm-up, strong decay, no clip',
      { ...DEFAULT_ADAMW, lr: 1e-2, warmupSteps: 3, weightDecay: 0.3, clipNorm: 0 },
    ],
    ['beta2 0.99, no decay', { ...DEFAULT_ADAMW, lr: 1e-4, beta2: 0.99, weightDecay: 0 }],
  ];
  it.each(cases)('gives the tensor version bit for bit (%s)', (_name, o) => {
    const before = tf.memory().numTensors;
    const a = GPT.create(C, 3);
    const b = GPT.create(C, 3);
    const ref = tensorAdamW(a, o);
    const opt = new AdamW(b.vars, b.specs, o);
    for (const g of gradients(a.paramCount, 7, 11)) {
      ref.apply(g);
      opt.apply(g);
      expect(weightsChecksum(b)).toBe(weightsChecksum(a));
    }
    ref.dispose();
    opt.dispose();
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a state whose moments do not fit the model', () => {
    const model = GPT.create(C, 1);
    const opt = new AdamW(model.vars, model.specs, DEFAULT_ADAMW);
    const s = opt.getState();
    s.v[2] = new Float32Array(3);
    expect(() => opt.setState(s)).toThrow(/second moment of parameter .* has 3 values/);
    model.dispose();
  });
});
