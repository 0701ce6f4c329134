// A faster Slice for the wasm backend. Why: tfjs-backend-wasm 4.22's Slice copies the WHOLE input out of
// the wasm heap (backend.readSync) before copying the slice, so cutting a tensor into n pieces costs n
// full copies. This version reads the input through a view of the heap. Same results, bit for bit.
import * as tf from '@tensorflow/tfjs';
import { installSimdMatMul } from './simd-matmul.js';
import { installFastGather } from './wasm-gather.js';
import { registerHeadsMatMul } from './wasm-heads-matmul.js';
import { replaceWasmKernel, type KernelArgs, type WasmBackendInternals } from './wasm-internals.js';

type SliceAttrs = { begin: number | number[]; size?: number | number[] };

function fastSlice(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const backend = args.backend as WasmBackendInternals;
  const attrs = args.attrs as unknown as SliceAttrs;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin, attrs.size);
  // The output is allocated first: allocation may grow the heap, which invalidates earlier views.
  const out = backend.makeOutput(size, x.dtype);
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const off = tf.slice_util.computeFlatOffset(begin, strides);
    ov.set(xv.subarray(off, off + total));
    return out;
  }
  // General case: copy contiguous runs. Trailing axes taken whole merge into one run (slicing q out of
  // [B, 3H, T, dh] copies B runs of H·T·dh, not B·H·T runs of dh: ~20x fewer copies).
  const st = (d: number) => (d === rank - 1 ? 1 : strides[d]);
  let j = rank - 1;
  while (j > 0 && begin[j] === 0 && size[j] === x.shape[j]) j--;
  const inner = size[j] * st(j); // one run: axis j and every whole axis after it
  const runs = total / inner;
  for (let r = 0; r < runs; r++) {
    let rem = r; // the run's index over axes 0..j-1
    let src = begin[j] * st(j);
    for (let d = j - 1; d >= 0; d--) {
      const idx = rem % size[d];
      rem = (rem - idx) / size[d];
      src += (begin[d] + idx) * st(d);
    }
    ov.set(xv.subarray(src, src + inner), r * inner);
  }
  return out;
}

/** SplitV through fastSlice. Why: wasm's own SplitV calls its whole-input-copying Slice per part. */
function fastSplitV(args: KernelArgs): tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  const { numOrSizeSplits, axis } = args.attrs as unknown as {
    numOrSizeSplits: number | number[];
    axis: number;
  };
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const dim = x.shape[ax];
  let sizes = Array.isArray(numOrSizeSplits)
    ? numOrSizeSplits
    : new Array<number>(numOrSizeSplits).fill(dim / numOrSizeSplits);
  const known = sizes.reduce((a, b) => (b === -1 ? a : a + b), 0);
  sizes = sizes.map((n) => (n === -1 ? dim - known : n));
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    const part = fastSlice({ inputs: { x }, backend: args.backend, attrs: { begin: [...begin], size } });
    begin[ax] += n;
    return part;
  });
}

let installed: string[] | undefined;

/**
 * Replaces the wasm Slice, SplitV, GatherV2 and matMul kernels and adds HeadsMatMul, once per thread;
 * returns the kernels replaced or added.
 */
export function installWasmKernels(): string[] {
  if (installed) return installed;
  installed = ['Slice', 'SplitV', 'GatherV2', 'TsoHeadsMatMul'];
  if (installSimdMatMul()) installed.push('BatchMatMul', '_FusedMatMul');
  replaceWasmKernel('Slice', fastSlice);
  replaceWasmKernel('SplitV', fastSplitV);
  installFastGather();
  registerHeadsMatMul();
  return installed;
}
