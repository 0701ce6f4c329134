// A faster GatherV2 for the wasm backend, for the embedding lookup (axis 0, whole rows). Why: wasm
// 4.22's Gather walks every element through strided index arithmetic (~3 ms for 2016 rows of 128, per
// embedding, per forward pass); copying whole rows through views of the heap is a plain memcpy per row.
// Same values, bit for bit (it only copies). Other gathers keep the original kernel.
import * as tf from '@tensorflow/tfjs';
import {
  replaceWasmKernel,
  runOriginal,
  type KernelArgs,
  type WasmBackendInternals,
} from './wasm-internals.js';

export function installFastGather(): void {
  const original = tf.getKernel('GatherV2', 'wasm');
  if (!original) return;
  const gather = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const x = args.inputs.x as tf.TensorInfo;
    const indices = args.inputs.indices as tf.TensorInfo;
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    const rows = x.shape[0];
    if (tf.util.parseAxisParam(axis, x.shape)[0] !== 0 || batchDims !== 0 || x.shape.length < 1)
      return runOriginal(original, args);
    const backend = args.backend as WasmBackendInternals;
    const idx = backend.readSync(indices.dataId);
    for (let i = 0; i < idx.length; i++) {
      if (!(idx[i] >= 0 && idx[i] < rows))
        throw new Error(`GatherV2: the index value ${idx[i]} is not in [0, ${rows - 1}]`);
    }
    const rowShape = x.shape.slice(1);
    const row = tf.util.sizeFromShape(rowShape);
    // The output is allocated first: allocation may grow the heap, which invalidates earlier views.
    const out = backend.makeOutput([...indices.shape, ...rowShape], x.dtype);
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    for (let i = 0; i < idx.length; i++) ov.set(xv.subarray(idx[i] * row, (idx[i] + 1) * row), i * row);
    return out;
  };
  replaceWasmKernel('GatherV2', gather);
}
