// The optional NLL term of the preference step: L = L_pref + α·mean_i w_i·NLL_i(chosen)/|chosen|.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select-backend.js';
import { GPT } from '../../src/model/gpt.js';
import { encodePairsForScoring } from '../../src/model/prompt-format.js';
import { preferenceGradient, sequenceLogProbs } from '../../src/tso/dpo-step.js';

describe('preference step with an NLL term on the chosen responses', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('adds alpha times the weighted per-token NLL of the chosen responses', () => {
    const model = GPT.create({ vocabSize: 259, blockSize: 24, nLayer: 1, nHead: 2, dModel: 16 }, 3);
    const pairs = [
      { prompt: 'add: 1+2', chosen: '3', rejected: '12' },
      { prompt: 'rev: abc', chosen: 'cba', rejected: 'abcd' },
    ];
    const seqs = encodePairsForScoring(
      [
        ...pairs.map((p) => ({ prompt: p.prompt, response: p.chosen })),
        ...pairs.map((p) => ({ prompt: p.prompt, response: p.rejected })),
      ],
      24,
    );
    const lp = sequenceLogProbs(model, seqs); // reference = policy: every reward is 0
    const weights = Float32Array.from([1, 2]);
    const loss = { name: 'dpo' as const, beta: 0.1, clipChosen: 1, clipRejected: 1 };
    const before = tf.memory().numTensors;
    const pure = preferenceGradient(model, { seqs, weights }, lp, loss);
    const mixed = preferenceGradient(model, { seqs, weights }, lp, { ...loss, sftWeight: 0.5 });
    expect(tf.memory().numTensors).toBe(before);
    // Chosen lengths in tokens: "3"+EOS = 2, "cba"+EOS = 4.
    const nll = (-lp[0] / 2) * 1 + (-lp[1] / 4) * 2;
    expect(mixed.loss).toBeCloseTo(pure.loss + 0.5 * (nll / 2), 4);
    expect(mixed.grad.reduce((a, g, i) => a + Math.abs(g - pure.grad[i]), 0)).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
