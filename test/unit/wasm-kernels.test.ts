// The replacement wasm kernels (src/backend/wasm-*.ts) against the cpu backend, value for value: Slice,
// SplitV and GatherV2 only copy, and HeadsMatMul makes the same XNNPACK call as a 2-D tf.matMul per head.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { HEADS_MATMUL } from '../../src/backend/wasm-heads-matmul.js';

const iota = (shape: number[]) =>
  tf.reshape(
    tf.range(
      0,
      shape.reduce((a, b) => a * b, 1),
    ),
    shape,
  );

async function onBoth(f: () => tf.Tensor): Promise<[number[], number[]]> {
  const out: number[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const t = tf.tidy(f);
    out.push(Array.from(t.dataSync()));
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }
  return [out[0], out[1]];
}

describe('replacement wasm kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const slices: [number[], number[], number[]][] = [
    [
      [16, 12, 63, 32],
      [0, 4, 0, 0],
      [16, 4, 63, 32],
    ],
    [
      [5, 6, 7],
      [1, 2, 3],
      [3, 2, 4],
    ],
    [
      [5, 6, 7],
      [0, 2, 0],
      [5, 3, 7],
    ],
    [
      [8, 9],
      [0, 3],
      [8, 5],
    ],
    [
      [4, 5, 6, 7],
      [1, 0, 2, 0],
      [2, 5, 3, 7],
    ],
    [
      [3, 4, 5],
      [0, 0, 1],
      [3, 4, 3],
    ],
  ];
  it.each(slices)('Slice of %j at %j, size %j', async (shape, begin, size) => {
    const [want, got] = await onBoth(() => tf.slice(iota(shape), begin, size));
    expect(got).toEqual(want);
  });

  it('SplitV in equal and given sizes', async () => {
    for (const [shape, splits, axis] of [
      [[4, 6, 3, 2], 3, 1],
      [[5, 7], [2, -1, 1], 1],
    ] as [number[], number | number[], number][]) {
      const [want, got] = await onBoth(() =>
        tf.concat(
          tf.split(iota(shape), splits, axis).map((t) => tf.neg(tf.reshape(t, [-1]))),
          0,
        ),
      );
      expect(got).toEqual(want);
    }
  });

  it('GatherV2 of whole rows, and along another axis', async () => {
    const ids = [3, 0, 3, 7, 1];
    const [want, got] = await onBoth(() => tf.gather(iota([8, 5]), tf.tensor1d(ids, 'int32')));
    expect(got).toEqual(want);
    const [want1, got1] = await onBoth(() => tf.gather(iota([4, 6]), tf.tensor1d([5, 0], 'int32'), 1));
    expect(got1).toEqual(want1);
    await tf.setBackend('wasm');
    expect(() => tf.gather(iota([8, 5]), tf.tensor1d([8], 'int32'))).toThrow(/index value 8/);
  });

  it('HeadsMatMul equals one 2-D matMul per head, bit for bit', async () => {
    await tf.setBackend('wasm');
    const [n, r, k, c] = [5, 7, 6, 9];
    const a = tf.randomNormal([n * r, k], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([n * k, c], 0, 1, 'float32', 2) as tf.Tensor2D;
    const attrs = { n } as unknown as tf.NamedAttrMap;
    const got = tf.engine().runKernel(HEADS_MATMUL, { a, b }, attrs) as tf.Tensor;
    const heads = Array.from({ length: n }, (_, i) =>
      tf.matMul(tf.slice(a, [i * r, 0], [r, k]), tf.slice(b, [i * k, 0], [k, c])),
    );
    expect(Array.from(got.dataSync())).toEqual(Array.from(tf.concat(heads, 0).dataSync()));
    tf.dispose([a, b, got, ...heads]);
  });
});
