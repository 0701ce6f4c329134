// A policy replica in a worker thread: holds a policy, its reference copy and AdamW; computes the
// gradient of its shard and applies averaged updates. Used by the local data-parallel step.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { wasmHeapBytes } from '../backend/heap.js';
import { initBackend, type BackendName } from '../backend/select-backend.js';
import { AdamW, type AdamWOptions } from '../model/adamw.js';
import { weightsChecksum } from '../model/checkpoint.js';
import type { GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import type { EncodedBatch } from '../model/prompt-format.js';
import { preferenceGradient, sequenceLogProbs, type LossConfig } from '../tso/dpo-step.js';

export type ReplicaRequest =
  | {
      kind: 'init';
      config: GPTConfig;
      seed: number;
      backend: BackendName;
      adamw: AdamWOptions;
      loss: LossConfig;
    }
  | { kind: 'grad'; seqs: EncodedBatch }
  | { kind: 'apply'; grad: Float32Array; checksum: boolean }
  | { kind: 'memory' }
  | { kind: 'exit' };

export type ReplicaReply =
  | { kind: 'ready'; backend: string }
  | { kind: 'grad'; grad: Float32Array; loss: number }
  | { kind: 'applied'; checksum?: string }
  | { kind: 'memory'; numTensors: number; wasmHeapBytes: number | null }
  | { kind: 'error'; message: string };

let policy: GPT | undefined;
let reference: GPT | undefined;
let opt: AdamW | undefined;
let loss: LossConfig | undefined;

async function handle(msg: ReplicaRequest): Promise<ReplicaReply | undefined> {
  switch (msg.kind) {
    case 'init': {
      const info = await initBackend(msg.backend);
      policy = GPT.create(msg.config, msg.seed);
      reference = GPT.create(msg.config, msg.seed, false);
      opt = new AdamW(policy.vars, policy.specs, msg.adamw);
      loss = msg.loss;
      return { kind: 'ready', backend: info.name };
    }
    case 'grad': {
      if (!policy || !reference || !loss) throw new Error('replica not initialised');
      const ref = sequenceLogProbs(reference, msg.seqs);
      const r = preferenceGradient(policy, { seqs: msg.seqs }, ref, loss);
      return { kind: 'grad', grad: r.grad, loss: r.loss };
    }
    case 'apply': {
      if (!policy || !opt) throw new Error('replica not initialised');
      opt.apply(msg.grad);
      return { kind: 'applied', checksum: msg.checksum ? weightsChecksum(policy) : undefined };
    }
    case 'memory':
      return { kind: 'memory', numTensors: tf.memory().numTensors, wasmHeapBytes: wasmHeapBytes() };
    case 'exit':
      process.exit(0);
  }
}

parentPort?.on('message', (msg: ReplicaRequest) => {
  handle(msg).then(
    (reply) => {
      if (!reply) return;
      const transfer = reply.kind === 'grad' ? [reply.grad.buffer as ArrayBuffer] : [];
      parentPort?.postMessage(reply, transfer);
    },
    (e: unknown) =>
      parentPort?.postMessage({ kind: 'error', message: (e as Error).message } satisfies ReplicaReply),
  );
});
