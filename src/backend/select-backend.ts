// Chooses the tfjs backend: tensorflow (tfjs-node-gpu, then tfjs-node) when importable, else wasm, else cpu.
// tfjs-node(-gpu) are optional dependencies: their install downloads libtensorflow and fails offline.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from './errors.js';
import { installWasmKernels } from './wasm-kernels.js';
import { logger } from '../util/log.js';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The tfjs backend actually running: 'tensorflow', 'wasm' or 'cpu'. */
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** For 'tensorflow': which package provided it. */
  package?: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';
  requested: BackendName;
  /** tfjs kernels this project replaced with its own (wasm: Slice, and the matMuls unless TSO_SIMD_MATMUL=0). */
  ownKernels?: string[];
}

let current: BackendInfo | undefined;

async function tryTensorflow(): Promise<BackendInfo['package'] | undefined> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
    try {
      await import(pkg);
      return pkg;
    } catch {
      // not installed (the usual case offline): try the next one
    }
  }
  return undefined;
}

/** Selects and initialises a backend once per process; later calls return the same choice. */
export async function initBackend(requested: BackendName = 'auto'): Promise<BackendInfo> {
  if (current && (requested === 'auto' || requested === current.requested || requested === current.name)) {
    return current;
  }
  if (!BACKEND_NAMES.includes(requested)) {
    throw new BackendError(`unknown backend "${requested}" (expected one of ${BACKEND_NAMES.join(', ')})`);
  }
  let info: BackendInfo | undefined;
  if (requested === 'tensorflow' || requested === 'auto') {
    const pkg = await tryTensorflow();
    if (pkg && (await tf.setBackend('tensorflow'))) info = { name: 'tensorflow', package: pkg, requested };
    else if (requested === 'tensorflow') {
      throw new BackendError(
        'backend "tensorflow" requested but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node ' +
          'could be loaded: install one of them (npm install @tensorflow/tfjs-node@4.22.0; it downloads libtensorflow)',
      );
    }
  }
  if (!info && (requested === 'wasm' || requested === 'auto')) {
    if (await tf.setBackend('wasm').catch(() => false)) {
      info = { name: 'wasm', requested, ownKernels: installWasmKernels() };
    } else if (requested === 'wasm') {
      throw new BackendError(
        'backend "wasm" requested but @tensorflow/tfjs-backend-wasm could not initialise',
      );
    }
  }
  if (!info) {
    if (!(await tf.setBackend('cpu'))) throw new BackendError('backend "cpu" could not initialise');
    info = { name: 'cpu', requested };
  }
  await tf.ready();
  current = info;
  logger('backend').info(
    { backend: info.name, package: info.package, requested, ownKernels: info.ownKernels },
    `tfjs backend: ${info.name}`,
  );
  return info;
}

export function currentBackend(): BackendInfo | undefined {
  return current;
}
