// Our own f32 matMul (src/backend/simd/matmul.c, wasm SIMD) in place of tfjs-backend-wasm's XNNPACK one
// for the 2-D cases this project runs: 1.3-1.75x faster at its shapes with the same bits
// (docs/perf/kernel-spikes.md; test/unit/simd-matmul.test.ts compares them). The module imports tfjs's
// own memory, so it reads and writes tensors where they live: no copies in or out. Everything else
// (transposed A, batches, activations other than linear, other dtypes) goes to tfjs's kernel.
// TSO_SIMD_MATMUL=0 keeps tfjs's kernels (for A/B measurements).
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { logger } from '../util/log.js';
import {
  replaceWasmKernel,
  runOriginal,
  type KernelArgs,
  type WasmBackendInternals,
  type WasmMemory,
} from './wasm-internals.js';

// The WebAssembly global as far as this file uses it (the project's TypeScript libs have no DOM types).
declare const WebAssembly: {
  Memory: abstract new () => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

type Gemm = (
  M: number,
  N: number,
  K: number,
  a: number,
  b: number,
  c: number,
  work: number,
  bias: number,
) => void;

interface OwnGemm {
  sgemm: Gemm;
  sgemm_bt: Gemm;
}

/** The module on the backend's memory, or undefined (with the reason logged) when that is not possible. */
function instantiate(backend: WasmBackendInternals): OwnGemm | undefined {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    logger('backend').warn('tfjs-backend-wasm does not expose its memory: own matMul kernel not used');
    return undefined;
  }
  const bytes = readFileSync(new URL('./simd/matmul.wasm', import.meta.url));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return instance.exports as unknown as OwnGemm;
}

interface Loaded {
  gemm: OwnGemm;
  backend: WasmBackendInternals;
}
let loaded: Loaded | undefined;

/** Products computed by the own kernel in this thread (tests check which path a matMul took). */
export const simdMatMulCalls = { count: 0 };

/**
 * c = a·b or a·bᵀ (+ bias) at byte offsets of the backend's memory (bias 0 = none), a [m,k]. Offsets,
 * not views: allocating the work buffer (packed B) may grow the heap.
 */
function gemmAt(
  l: Loaded,
  transposeB: boolean,
  [m, k, n]: [number, number, number],
  a: number,
  b: number,
  c: number,
  bias: number,
): void {
  const np = Math.ceil(n / 8) * 8;
  const work = l.backend.wasm._malloc(4 * (k * np + np));
  try {
    (transposeB ? l.gemm.sgemm_bt : l.gemm.sgemm)(m, n, k, a, b, c, work, bias);
  } finally {
    l.backend.wasm._free(work);
  }
  simdMatMulCalls.count++;
}

/**
 * c = a·b for f32 matrices at byte offsets of the wasm backend's memory, a [m,k], b [k,n], c [m,n], with
 * the own kernel; false (nothing done) when it is not installed. For kernels that address blocks of a
 * tensor in place (wasm-heads-matmul.ts).
 */
export function simdGemmAt(m: number, k: number, n: number, a: number, b: number, c: number): boolean {
  if (!loaded) return false;
  gemmAt(loaded, false, [m, k, n], a, b, c, 0);
  return true;
}

/** The kernel's output tensor for tensor inputs (fits() has checked them). */
function runGemm(
  l: Loaded,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeB: boolean,
  bias: tf.TensorInfo | undefined,
  outShape: number[],
): tf.TensorInfo {
  const [m, k] = matrix(a)!;
  const out = l.backend.makeOutput(outShape, 'float32');
  const off = (t: tf.TensorInfo) => l.backend.dataIdMap.get(t.dataId)!.memoryOffset;
  const n = outShape[outShape.length - 1];
  gemmAt(l, transposeB, [m, k, n], off(a), off(b), off(out), bias ? off(bias) : 0);
  return out;
}

/** Below this many rows of A, tfjs's kernel (see fits). */
export const MIN_ROWS = 64;

/** The [M, K] / [K, N] view of a tensor whose leading (batch) dimensions are all 1, else undefined. */
function matrix(t: tf.TensorInfo): [number, number] | undefined {
  const r = t.shape.length;
  if (r < 2 || t.shape.slice(0, -2).some((d) => d !== 1)) return undefined;
  return [t.shape[r - 2], t.shape[r - 1]];
}

/**
 * Inputs the own kernel takes: f32, one matrix each (tfjs's ops hand kernels [1, M, K] stacks), inner
 * sizes equal, nothing empty. Returns the output shape (batch dims of the longer rank, then [M, N]).
 */
function fits(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): number[] | undefined {
  if (transposeA || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ma = matrix(a);
  const mb = matrix(b);
  if (!ma || !mb) return undefined;
  const [m, k] = ma;
  const [kb, n] = transposeB ? [mb[1], mb[0]] : mb;
  // Few rows (a generated token's step): XNNPACK keeps B packed per weight tensor across calls, while
  // this kernel packs B on every call, which then costs more than the product.
  if (k !== kb || m < MIN_ROWS || k === 0 || n === 0) return undefined;
  const batch = (a.shape.length >= b.shape.length ? a : b).shape.slice(0, -2);
  return [...batch, m, n];
}

/** Registers the own BatchMatMul and _FusedMatMul on the wasm backend; false if it could not. */
export function installSimdMatMul(): boolean {
  if (process.env.TSO_SIMD_MATMUL === '0') return false;
  const backend = tf.findBackend('wasm') as unknown as WasmBackendInternals | undefined;
  if (!backend) return false;
  const gemm = instantiate(backend);
  if (!gemm) return false;
  const l: Loaded = { gemm, backend };
  loaded = l;
  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm')!;
  const fusedMatMul = tf.getKernel('_FusedMatMul', 'wasm')!;
  replaceWasmKernel('BatchMatMul', (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    // The module is bound to the memory of the backend it was loaded for: any other goes to tfjs.
    const shape = args.backend === backend ? fits(a, b, transposeA, transposeB) : undefined;
    if (!shape) return runOriginal(batchMatMul, args);
    return runGemm(l, a, b, transposeB, undefined, shape);
  });
  replaceWasmKernel('_FusedMatMul', (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { transposeA, transposeB, activation } = args.attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
    };
    const shape = a && b && args.backend === backend ? fits(a, b, transposeA, transposeB) : undefined;
    const n = shape?.[shape.length - 1];
    const plainBias = !bias || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === n);
    const linear = !activation || activation === 'linear';
    if (!shape || preluActivationWeights || !linear || !plainBias) return runOriginal(fusedMatMul, args);
    return runGemm(l, a!, b!, transposeB, bias, shape);
  });
  return true;
}
