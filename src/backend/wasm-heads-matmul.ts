// `HeadsMatMul` for the wasm backend: for each of n heads, a_i · b_i, with a [n·r, k] and b [n·k, c] as
// stacks of 2-D blocks, in ONE dispatch. Why: attention for training-sized blocks runs per head (the
// batched matMul falls off XNNPACK), and per head the JS side cost ~5x the arithmetic: two slices, a
// matMul dispatch, then a concat. Here each block is handed to the own SIMD matMul (simd-matmul.ts) or,
// without it, to wasm's own 2-D BatchMatMul (the same XNNPACK call tf.matMul makes), as a view of the
// inputs' memory: no copies, the same bits either way.
import * as tf from '@tensorflow/tfjs';
import { simdGemmAt } from './simd-matmul.js';
import { replaceWasmKernel, type KernelArgs, type WasmBackendInternals } from './wasm-internals.js';

export const HEADS_MATMUL = 'TsoHeadsMatMul';

type BatchMatMulFn = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

// Per wasm module: a re-created backend gets its own binding.
const bound = new WeakMap<object, BatchMatMulFn>();
const F32 = 4;

function headsMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendInternals;
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const n = (args.attrs as unknown as { n: number }).n;
  const [ar, k] = a.shape;
  const c = b.shape[1];
  const r = ar / n;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || b.shape[0] !== n * k || r % 1 !== 0)
    throw new Error(`${HEADS_MATMUL}: bad shapes [${a.shape}] x [${b.shape}] for ${n} heads`);
  const out = backend.makeOutput([n * r, c], 'float32');
  const base = [a, b, out].map((t) => backend.dataIdMap.get(t.dataId)!.memoryOffset);
  // The own SIMD matMul (simd-matmul.ts) reads each block in place: no views to register, no XNNPACK
  // operator built per head; the same bits.
  let own = true;
  for (let i = 0; i < n && own; i++)
    own = simdGemmAt(
      r,
      k,
      c,
      base[0] + i * r * k * F32,
      base[1] + i * k * c * F32,
      base[2] + i * r * c * F32,
    );
  if (own) return out;
  let batchMatMul = bound.get(backend.wasm);
  if (!batchMatMul) {
    const types = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'];
    batchMatMul = backend.wasm.cwrap('BatchMatMul', null, types) as unknown as BatchMatMulFn;
    bound.set(backend.wasm, batchMatMul);
  }
  const aShape = new Uint8Array(new Int32Array([1, r, k]).buffer);
  const bShape = new Uint8Array(new Int32Array([1, k, c]).buffer);
  const sizes = [r * k, k * c, r * c];
  const { tfjs } = backend.wasm;
  for (let i = 0; i < n; i++) {
    // Views registered under fresh ids; disposing them also drops XNNPACK's operator cached for b_i.
    const ids = sizes.map((size, j) => {
      const id = backend.dataIdNextNumber++;
      tfjs.registerTensor(id, size, base[j] + i * size * F32);
      return id;
    });
    batchMatMul(ids[0], aShape, 3, ids[1], bShape, 3, false, false, ids[2]);
    for (const id of ids) tfjs.disposeData(id);
  }
  return out;
}

export function registerHeadsMatMul(): void {
  replaceWasmKernel(HEADS_MATMUL, headsMatMul);
}
