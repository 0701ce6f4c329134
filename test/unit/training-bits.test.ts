// Training gives the bits it gave when the shipped models (models/) and the README's recorded runs were
// made (commit bf9639b): speed work on the kernels must not move a single bit, or `make pretrain` no
// longer reproduces the recorded SHA-256s and the README's demo and benchmark numbers go stale. The
// digests below were recorded by running this file's computation at that commit. A change that moves
// them on purpose must re-run `make pretrain`, the demo and the benchmark, and update the README.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { AdamW, DEFAULT_ADAMW } from '../../src/model/adamw.js';
import { weightsChecksum } from '../../src/model/checkpoint.js';
import type { GPTConfig } from '../../src/model/config.js';
import { GPT } from '../../src/model/gpt.js';
import { randomPairRows } from '../../src/bench/workload.js';
import { preferenceGradient, sequenceLogProbs, type LossConfig } from '../../src/tso/dpo-step.js';

// Wide enough for the per-head attention path (training-sized blocks) and every kernel the step uses.
const C: GPTConfig = { vocabSize: 259, blockSize: 48, nLayer: 2, nHead: 2, dModel: 64 };
const LOSS: LossConfig = {
  name: 'dual-clip',
  beta: 0.1,
  clipChosen: 0.5,
  clipRejected: 0.2,
  clipUnits: 'per-token',
  sftWeight: 20,
};

const sha = (a: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');

/** Three optimizer steps of the dual-clip loss with the NLL anchor, half the pairs anchored. */
function train(): { grads: string[]; weights: string } {
  const policy = GPT.create(C, 3);
  const reference = GPT.create(C, 3, false);
  const opt = new AdamW(policy.vars, policy.specs, { ...DEFAULT_ADAMW, lr: 1e-3 });
  const seqs = randomPairRows({ pairs: 6, seqLen: C.blockSize, vocab: C.vocabSize }, 2);
  const anchors = Float32Array.from({ length: 6 }, (_, i) => i % 2);
  const weights = Float32Array.from({ length: 6 }, (_, i) => 0.5 + i / 4);
  const ref = sequenceLogProbs(reference, seqs);
  const grads: string[] = [];
  for (let s = 0; s < 3; s++) {
    const g = preferenceGradient(policy, { seqs, anchors, weights }, ref, LOSS);
    grads.push(sha(g.grad).slice(0, 16));
    opt.apply(g.grad);
  }
  const weightsSha = weightsChecksum(policy).slice(0, 16);
  policy.dispose();
  reference.dispose();
  return { grads, weights: weightsSha };
}

beforeAll(() => initBackend('wasm').then(() => undefined));

describe('training bits', () => {
  it('are the bits of the release that made the shipped models', () => {
    expect(train()).toEqual({
      grads: ['0c748ef2c05a32d5', 'ec335efb726624c3', '63dc903eec45d87d'],
      weights: '9ab6e5357d1b331a',
    });
  });
});
