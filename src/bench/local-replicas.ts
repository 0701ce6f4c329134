// Data-parallel training across worker threads on one machine: each replica computes the gradient of its
// shard, the gradients are averaged in a fixed order, and every replica applies the same average, so all
// replicas hold bit-identical weights. (Across machines the same exchange runs over NATS.)
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend/select-backend.js';
import type { AdamWOptions } from '../model/adamw.js';
import type { GPTConfig } from '../model/config.js';
import { averageGradients } from '../model/gradients.js';
import type { EncodedBatch } from '../model/prompt-format.js';
import type { LossConfig } from '../tso/dpo-step.js';
import type { ReplicaReply, ReplicaRequest } from './replica-worker.js';
import { shardPairs, shardRanges } from './workload.js';

class Replica {
  private readonly worker: Worker;
  private pending: { resolve: (r: ReplicaReply) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    this.worker = new Worker(new URL('./replica-worker.js', import.meta.url));
    this.worker.on('message', (r: ReplicaReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (r.kind === 'error') p.reject(new Error(`replica: ${r.message}`));
      else p.resolve(r);
    });
    this.worker.on('error', (e) => this.pending?.reject(e));
  }

  call(msg: ReplicaRequest, transfer: ArrayBuffer[] = []): Promise<ReplicaReply> {
    if (this.pending) throw new Error('replica busy');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer);
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

export interface LocalStepResult {
  loss: number;
  checksums?: string[];
}

export class LocalReplicas {
  private constructor(private readonly replicas: Replica[]) {}

  static async start(
    n: number,
    init: { config: GPTConfig; seed: number; backend: BackendName; adamw: AdamWOptions; loss: LossConfig },
  ): Promise<LocalReplicas> {
    const rs = Array.from({ length: n }, () => new Replica());
    await Promise.all(rs.map((r) => r.call({ kind: 'init', ...init })));
    return new LocalReplicas(rs);
  }

  get size(): number {
    return this.replicas.length;
  }

  /** One data-parallel step over a pair batch (chosen rows first). */
  async step(batch: EncodedBatch, opts: { checksum?: boolean } = {}): Promise<LocalStepResult> {
    const ranges = shardRanges(batch.rows / 2, this.replicas.length);
    const active = this.replicas.slice(0, ranges.length);
    const replies = await Promise.all(
      active.map((r, i) => r.call({ kind: 'grad', seqs: shardPairs(batch, ...ranges[i]) })),
    );
    const grads = replies.map((r) => (r.kind === 'grad' ? r.grad : new Float32Array()));
    // Weighted by shard size, so the result equals the full-batch mean whatever the split.
    const avg = averageGradients(
      grads,
      ranges.map(([a, b]) => b - a),
    );
    const losses = replies.map((r, i) => (r.kind === 'grad' ? r.loss * (ranges[i][1] - ranges[i][0]) : 0));
    const applied = await Promise.all(
      this.replicas.map((r) => r.call({ kind: 'apply', grad: avg, checksum: opts.checksum ?? false })),
    );
    return {
      loss: losses.reduce((a, b) => a + b, 0) / (batch.rows / 2),
      checksums: opts.checksum
        ? applied.map((a) => (a.kind === 'applied' ? (a.checksum ?? '') : ''))
        : undefined,
    };
  }

  /** Live tensors and wasm heap bytes of every replica thread. */
  async memory(): Promise<{ numTensors: number; wasmHeapBytes: number | null }[]> {
    const replies = await Promise.all(this.replicas.map((r) => r.call({ kind: 'memory' })));
    return replies.map((r) =>
      r.kind === 'memory'
        ? { numTensors: r.numTensors, wasmHeapBytes: r.wasmHeapBytes }
        : { numTensors: -1, wasmHeapBytes: null },
    );
  }

  /** Terminates the threads: their wasm heaps go back to the system. */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.stop()));
  }
}
