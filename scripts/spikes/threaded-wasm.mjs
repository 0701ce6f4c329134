// tfjs-backend-wasm's threaded-SIMD build loaded by hand under Node (spike 1, issue 12).
// tfjs itself never picks it in Node (WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false there), but the
// emscripten glue already runs pthreads on worker_threads; three things need doing by hand, see below.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const distDir = join(pkgDir, 'dist');
const outDir = join(pkgDir, 'wasm-out');

// The worker script ships as a JS string (wasm-out/*.worker.js exports it). tfjs hands it to emscripten
// as a blob: URL, which node's worker_threads.Worker cannot load; write it to a .cjs file instead.
const tmp = mkdtempSync(join(tmpdir(), 'tfjs-wasm-mt-'));
const workerFile = join(tmp, 'tfjs-backend-wasm-threaded-simd.worker.cjs');
// The string holds real newlines inside JS string literals; tfjs escapes them the same way.
const workerSrc = require(join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')).wasmWorkerContents;
writeFileSync(workerFile, workerSrc.replace(/\n/g, '\\n'));
const threadedFactory = require(join(outDir, 'tfjs-backend-wasm-threaded-simd.js'));

// tfjs's init_with_threads_count caps the pool at emscripten_num_logical_cores()/2, and in node that is
// os.cpus().length/2 = 1 on a 2-vCPU machine: threads=2 silently becomes 1. The cap is read once, by a
// static initializer on the main thread, so we answer that import ourselves (2 * the threads we want).
const wasmBytes = readFileSync(join(distDir, 'tfjs-backend-wasm-threaded-simd.wasm'));
export async function makeThreadedModule(threads) {
  const module = await threadedFactory({
    instantiateWasm(imports, receiveInstance) {
      const env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads };
      WebAssembly.instantiate(wasmBytes, { ...imports, env }).then((o) =>
        receiveInstance(o.instance, o.module),
      );
      return {};
    },
    locateFile: (p) => (p.endsWith('.worker.js') ? workerFile : join(distDir, p)),
    // The worker importScripts() this file (fs.readFileSync + indirect eval) to get the factory.
    mainScriptUrlOrBlob: join(outDir, 'tfjs-backend-wasm-threaded-simd.js'),
  });
  // The same bridge tfjs-backend-wasm's init() builds.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

// Register a threaded backend under a new name and give it every wasm kernel.
export async function registerThreaded(name, threads) {
  const module = await makeThreadedModule(threads);
  tf.registerBackend(name, () => {
    setThreadsCount(threads); // read by BackendWasm's constructor (init_with_threads_count)
    return new BackendWasm(module);
  });
  for (const k of tf.getKernelsForBackend('wasm')) tf.registerKernel({ ...k, backendName: name });
  await tf.setBackend(name);
  return module;
}

/** Replaces the 'wasm' backend (before its first use) by the threaded build with `threads` threads. */
export async function replaceWasmBackend(threads) {
  const module = await makeThreadedModule(threads);
  tf.removeBackend('wasm'); // kernels registered for 'wasm' stay registered
  tf.registerBackend(
    'wasm',
    () => {
      setThreadsCount(threads);
      return new BackendWasm(module);
    },
    2,
  );
  return module;
}
