// The size of this thread's wasm heap. A WebAssembly memory only grows, so its size is the peak of what
// the thread's tensors ever needed at once: the figure `tso bench` reports per thread.
import * as tf from '@tensorflow/tfjs';
import type { WasmBackendInternals } from './wasm-internals.js';

/** Bytes of this thread's wasm heap, or null on another backend. */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const heap = (tf.backend() as unknown as Partial<WasmBackendInternals>).wasm?.HEAPU8;
  return heap ? heap.byteLength : null;
}
