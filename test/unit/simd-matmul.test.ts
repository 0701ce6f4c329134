// The own wasm SIMD matMul (src/backend/simd-matmul.ts) against tfjs-backend-wasm's XNNPACK kernel it
// replaces: the same bits for every shape it takes (odd sizes, tails of the 4x8 tile, bias, transposed
// B against the materialised transpose), tfjs's kernel for the shapes it leaves alone, no leaked tensors, and the committed .wasm is what
// scripts/build-simd-kernels.sh builds from matmul.c (checked when clang is installed).
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { MIN_ROWS, simdMatMulCalls } from '../../src/backend/simd-matmul.js';
import { mulberry32 } from '../../src/model/seeded-normal.js';

const ORIGINAL = {
  BatchMatMul: tf.getKernel('BatchMatMul', 'wasm'),
  _FusedMatMul: tf.getKernel('_FusedMatMul', 'wasm'),
};
let OWN: typeof ORIGINAL;

/** Runs `f` with tfjs's own kernels registered, then puts ours back. */
function withTfjsKernels<T>(f: () => T): T {
  const swap = (to: typeof ORIGINAL) => {
    for (const name of ['BatchMatMul', '_FusedMatMul'] as const) {
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(to[name]!);
    }
  };
  swap(ORIGINAL);
  try {
    return f();
  } finally {
    swap(OWN);
  }
}

const rand = mulberry32(7);
const randn = (shape: number[]) =>
  tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1),
    shape,
  );
/** Entries whose float32 bits differ (deep equality on 10⁵+ entries would take vitest minutes). */
function bitDiffs(x: tf.Tensor, y: tf.Tensor): number {
  const a = new Uint32Array((x.dataSync() as Float32Array).slice().buffer);
  const b = new Uint32Array((y.dataSync() as Float32Array).slice().buffer);
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

beforeAll(async () => {
  await initBackend('wasm');
  OWN = {
    BatchMatMul: tf.getKernel('BatchMatMul', 'wasm'),
    _FusedMatMul: tf.getKernel('_FusedMatMul', 'wasm'),
  };
});

describe('own SIMD matMul on the wasm backend', () => {
  it('is installed in place of tfjs-backend-wasm kernels', () => {
    expect(OWN.BatchMatMul!.kernelFunc).not.toBe(ORIGINAL.BatchMatMul!.kernelFunc);
    expect(OWN._FusedMatMul!.kernelFunc).not.toBe(ORIGINAL._FusedMatMul!.kernelFunc);
  });

  // [M, K, N]: the model's shapes, tails of the 4-row tile and 8-column panel, K = 1, one column.
  const shapes = [
    [2016, 128, 384],
    [96, 128, 259],
    [97, 33, 17],
    [65, 1, 9],
    [64, 64, 8],
    [67, 300, 1],
    [130, 512, 128],
  ];
  it.each(shapes)('a·b, a·bᵀ and a·b + bias give tfjs bit for bit: M %i, K %i, N %i', (M, K, N) => {
    const before = tf.memory().numTensors;
    const a = randn([M, K]);
    const b = randn([K, N]);
    const bt = randn([N, K]);
    const bias = randn([N]);
    const calls = simdMatMulCalls.count;
    const ours = [
      tf.matMul(a, b),
      tf.matMul(a, bt, false, true),
      tf.fused.matMul({ a, b, bias }),
      tf.fused.matMul({ a, b: bt, transposeB: true, bias }),
    ];
    expect(simdMatMulCalls.count - calls).toBe(4);
    // A transposed B is folded into the packing: the bits of XNNPACK on the materialised transpose, which
    // is how the model computes a·bᵀ on wasm (kernels.ts); tfjs's own transposeB path is a slower loop
    // that sums in another order.
    const theirs = withTfjsKernels(() =>
      tf.tidy(() => {
        const btT = tf.transpose(bt);
        return [
          tf.matMul(a, b),
          tf.matMul(a, btT),
          tf.fused.matMul({ a, b, bias }),
          tf.fused.matMul({ a, b: btT, bias }),
        ];
      }),
    );
    ours.forEach((t, i) => {
      expect(t.shape, `case ${i}`).toEqual(theirs[i].shape);
      expect(bitDiffs(t, theirs[i]), `case ${i}`).toBe(0);
    });
    tf.dispose([a, b, bt, bias, ...ours, ...theirs]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves what it does not take to tfjs: transposed A, batches, activations, few rows', () => {
    const before = tf.memory().numTensors;
    const a = randn([70, 5]);
    const at = randn([5, 70]);
    const b = randn([5, 4]);
    const a3 = randn([3, 70, 5]);
    const b3 = randn([3, 5, 4]);
    const cases = () => [
      tf.matMul(at, b, true, false),
      tf.matMul(a3, b3),
      tf.fused.matMul({ a, b, activation: 'relu' }),
      tf.matMul(tf.slice(a, [0, 0], [MIN_ROWS - 1, 5]), b),
    ];
    const calls = simdMatMulCalls.count;
    const ours = tf.tidy(cases);
    expect(simdMatMulCalls.count).toBe(calls);
    const theirs = tf.tidy(() => withTfjsKernels(cases));
    ours.forEach((t, i) =>
      expect(Array.from(t.dataSync()), `case ${i}`).toEqual(Array.from(theirs[i].dataSync())),
    );
    tf.dispose([a, at, b, a3, b3, ...ours, ...theirs]);
    expect(tf.memory().numTensors).toBe(before);
  });

  const hasClang = spawnSync('clang', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!hasClang)('the committed matmul.wasm is what the build script makes of matmul.c', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tso-simd-'));
    try {
      const out = join(dir, 'matmul.wasm');
      const r = spawnSync('scripts/build-simd-kernels.sh', [out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out).equals(readFileSync('src/backend/simd/matmul.wasm'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
