// The parts of tfjs-backend-wasm 4.22's internals this project's own kernels use (they are not in its
// public types), and the one way those kernels are put in place of tfjs's. Pinned to 4.22: re-check on
// every tfjs upgrade (test/unit/wasm-kernels.test.ts and simd-matmul.test.ts compare the kernels).
import * as tf from '@tensorflow/tfjs';

/** A WebAssembly memory, as far as the kernels use it (the project's TS libs have no DOM types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** The emscripten module behind the backend. */
export interface WasmModule {
  HEAPU8?: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
  asm?: { memory?: WasmMemory };
  wasmMemory?: WasmMemory;
}

/** The wasm backend object a kernel receives as `args.backend`. */
export interface WasmBackendInternals {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: unknown): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  readSync(dataId: unknown): ArrayLike<number>;
}

/** What a kernel function is called with. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/**
 * Registers `kernelFunc` as the wasm backend's `kernelName`, in place of tfjs's own if it has one (whose
 * setup and dispose hooks are kept: its function stays bound for the fallback to call).
 */
export function replaceWasmKernel(
  kernelName: string,
  kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[],
): void {
  const old = tf.getKernel(kernelName, 'wasm');
  if (old) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    ...old,
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
  });
}

/** Runs tfjs's own kernel (a config taken before it was replaced). */
export function runOriginal(cfg: tf.KernelConfig, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  return cfg.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo | tf.TensorInfo[];
}
