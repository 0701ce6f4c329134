// The hand-differentiated kernels (src/model/kernels.ts, src/model/attention.ts) against tfjs autograd of
// the plain formula. The reference always runs on the cpu backend (tf.gather's gradient is not on wasm);
// each kernel runs on wasm and on cpu, forward values and input gradients for a random upstream gradient.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { HEADS_MATMUL } from '../../src/backend/wasm-heads-matmul.js';
import { attend } from '../../src/model/attention.js';
import { embed, gelu, layerNorm, linear, tokenLogProbs } from '../../src/model/kernels.js';
import { normalArray } from '../../src/model/seeded-normal.js';

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;
interface Input {
  values: Float32Array;
  shape: number[];
}
interface Result {
  value: Float32Array;
  grads: Float32Array[];
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
let seedCounter = 1;
function randn(shape: number[], std = 1, mean = 0): Input {
  const values = normalArray(size(shape), std, 1000 + seedCounter++).map((v) => v + mean);
  return { values, shape };
}

/** Value of f and its input gradients for upstream gradient dy, computed on `backend`. */
async function run(backend: string, f: Fn, inputs: Input[], dy: Input): Promise<Result> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.values, x.shape, 'float32'));
    const { value, grads } = tf.valueAndGrads(f)(xs, tf.tensor(dy.values, dy.shape, 'float32'));
    expect(value.shape).toEqual(dy.shape);
    grads.forEach((g, i) => expect(g.shape).toEqual(inputs[i].shape));
    return {
      value: value.dataSync() as Float32Array,
      grads: grads.map((g) => g.dataSync() as Float32Array),
    };
  });
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

/** max |a − b| ≤ rel · max |b|, and b is not trivially zero. */
function expectClose(actual: Float32Array, expected: Float32Array, rel = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    expect(Number.isFinite(actual[i])).toBe(true);
    scale = Math.max(scale, Math.abs(expected[i]));
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
  }
  expect(scale).toBeGreaterThan(1e-6);
  expect(diff).toBeLessThanOrEqual(rel * scale);
}

/** Kernel on `backend` vs the plain formula's autograd on cpu. */
async function compare(backend: string, kernel: Fn, reference: Fn, inputs: Input[], outShape: number[]) {
  const dy = randn(outShape);
  const want = await run('cpu', reference, inputs, dy);
  const got = await run(backend, kernel, inputs, dy);
  expectClose(got.value, want.value);
  got.grads.forEach((g, i) => expectClose(g, want.grads[i]));
  await tf.setBackend(backend);
}

const NEG_INF = -1e9;
/** The additive mask of gpt.ts's attentionMask: causal over absolute columns, no attention to left padding. */
function causalMask(B: number, T: number, start: number, pad: number[]): tf.Tensor4D {
  const Tk = start + T;
  const m = new Float32Array(B * T * Tk);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let j = 0; j < Tk; j++) if (j > start + t || j < pad[b]) m[(b * T + t) * Tk + j] = NEG_INF;
  return tf.tensor4d(m, [B, 1, T, Tk]);
}

/** softmax(q·kᵀ + mask)·v with tfjs's own matMul and softmax gradients. */
function plainAttention(B: number, mask: () => tf.Tensor4D): Fn {
  return (q, k, v) => {
    const [BH, T] = (q as tf.Tensor3D).shape;
    const Tk = (k as tf.Tensor3D).shape[1];
    const s = tf.add(tf.reshape(tf.matMul(q, k, false, true), [B, BH / B, T, Tk]), mask());
    return tf.matMul(tf.reshape(tf.softmax(s), [BH, T, Tk]), v);
  };
}

beforeAll(async () => {
  await initBackend('wasm');
  expect(tf.getBackend()).toBe('wasm');
});

describe.each(['wasm', 'cpu'])('kernels on %s match tfjs autograd', (backend) => {
  it('linear with bias: x·w + b', async () => {
    await compare(
      backend,
      (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
      (x, w, b) => tf.add(tf.matMul(x, w), b),
      [randn([5, 7]), randn([7, 6]), randn([6])],
      [5, 6],
    );
  });

  it('linear without bias: x·w', async () => {
    await compare(
      backend,
      (x, w) => linear(x as tf.Tensor2D, w as tf.Tensor2D),
      (x, w) => tf.matMul(x, w),
      [randn([9, 4]), randn([4, 11])],
      [9, 11],
    );
  });

  it('layerNorm: moments-based (x − mean)/sqrt(var + eps)·g + b', async () => {
    await compare(
      backend,
      (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D),
      (x, g, b) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      },
      [randn([6, 16], 2, 0.7), randn([16], 1, 1), randn([16])],
      [6, 16],
    );
  });

  it('gelu: x·sigmoid(1.702x)', async () => {
    await compare(
      backend,
      (x) => gelu(x),
      (x) => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))),
      [randn([3, 17], 3)],
      [3, 17],
    );
  });

  it('embed: rows of the table, gradient accumulated over repeated ids', async () => {
    const ids = [0, 3, 3, 10, 5, 3, 0];
    await compare(
      backend,
      (table) => embed(tf.tensor1d(ids, 'int32'), table as tf.Tensor2D),
      (table) => tf.gather(table, tf.tensor1d(ids, 'int32')),
      [randn([11, 6])],
      [ids.length, 6],
    );
  });

  it('tokenLogProbs: logSoftmax picked by oneHot', async () => {
    const targets = [4, 0, 12, 7, 4, 1];
    await compare(
      backend,
      (l) => tokenLogProbs(l as tf.Tensor2D, tf.tensor1d(targets, 'int32')),
      (l) => tf.sum(tf.mul(tf.logSoftmax(l), tf.oneHot(tf.tensor1d(targets, 'int32'), 13)), -1),
      [randn([targets.length, 13], 3)],
      [targets.length],
    );
  });

  // [B, H, T, start, dh, left pad per row, whether wasm takes the per-head 2-D matMul loop]
  const attentionCases: [string, number, number, number, number, number, number[], boolean][] = [
    ['batched path, square causal', 2, 2, 6, 0, 8, [0, 2], false],
    ['batched path, cached columns', 2, 2, 2, 5, 8, [1, 3], false],
    ['loop path, square causal (T·Tk·dh = 40·40·32)', 2, 2, 40, 0, 32, [0, 7], true],
    ['loop path, cached columns (T·Tk·dh = 24·64·32)', 1, 2, 24, 40, 32, [3], true],
  ];
  it.each(attentionCases)('attend, %s', async (_name, B, H, T, start, dh, pad, loops) => {
    const Tk = start + T;
    expect(T * Tk * dh >= 16384).toBe(loops);
    const inputs = [randn([B * H, T, dh], 0.5), randn([B * H, Tk, dh], 0.5), randn([B * H, Tk, dh])];
    const mask = () => causalMask(B, T, start, pad);
    await compare(
      backend,
      (q, k, v) => attend(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, mask(), B),
      plainAttention(B, mask),
      inputs,
      [B * H, T, dh],
    );
    // The path really taken: the loop runs the per-head kernel on wasm; the batched path never does.
    const info = await tf.profile(() => {
      const out = tf.tidy(() => {
        const [q, k, v] = inputs.map((x) => tf.tensor3d(x.values, x.shape as [number, number, number]));
        return attend(q, k, v, mask(), B);
      });
      out.dispose();
      return [];
    });
    expect(info.kernelNames.includes(HEADS_MATMUL)).toBe(loops && backend === 'wasm');
  });
});

describe('kernel values against float64 formulas (wasm)', () => {
  it('gelu and tokenLogProbs give the textbook numbers', () => {
    const xs = [-3, -1, -0.25, 0, 0.5, 2];
    const g = tf.tidy(() => gelu(tf.tensor1d(xs)).dataSync());
    xs.forEach((x, i) => expect(g[i]).toBeCloseTo(x / (1 + Math.exp(-1.702 * x)), 6));
    const row = [1, 2, 3, 0.5];
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
    const lp = tf.tidy(() => tokenLogProbs(tf.tensor2d([row, row]), tf.tensor1d([2, 3], 'int32')).dataSync());
    expect(lp[0]).toBeCloseTo(3 - lse, 5);
    expect(lp[1]).toBeCloseTo(0.5 - lse, 5);
  });

  it('layerNorm output has zero mean and unit variance per row when g = 1, b = 0', () => {
    const x = randn([3, 32], 4, 10);
    const y = tf.tidy(() =>
      layerNorm(
        tf.tensor2d(x.values, [3, 32]),
        tf.ones([32]) as tf.Tensor1D,
        tf.zeros([32]) as tf.Tensor1D,
      ).dataSync(),
    );
    for (let r = 0; r < 3; r++) {
      const row = Array.from(y.subarray(r * 32, (r + 1) * 32));
      const mean = row.reduce((a, v) => a + v, 0) / 32;
      const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / 32;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(variance).toBeCloseTo(1, 3);
    }
  });
});
