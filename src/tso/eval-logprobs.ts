// Teacher-forced log-probabilities for evaluation: whole sequences (the KL estimate) and gold answers
// (gold_logprob, likelihood displacement).
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt.js';
import { encodePairsForScoring } from '../model/prompt-format.js';
import { PAD_ID } from '../model/tokenizer.js';

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Summed log-probs of token sequences (prompt ids followed by response tokens) under `model`, the
 * response tokens masked in. Sequences are cut to `maxLen` tokens.
 */
export function tokenSequenceLogProbs(
  model: GPT,
  rows: readonly { prompt: number[]; response: number[] }[],
  maxLen: number,
  batchSize = 64,
): number[] {
  const out: number[] = [];
  for (const chunk of chunks(rows, batchSize)) {
    const seqs = chunk.map((r) => [...r.prompt, ...r.response].slice(0, maxLen));
    const T = Math.max(2, ...seqs.map((s) => s.length));
    const ids = new Int32Array(chunk.length * T).fill(PAD_ID);
    const mask = new Float32Array(chunk.length * T);
    seqs.forEach((s, i) => {
      ids.set(s, i * T);
      if (s.length > chunk[i].prompt.length) mask.fill(1, i * T + chunk[i].prompt.length, i * T + s.length);
    });
    const lp = tf.tidy(() =>
      model.sequenceLogProbs(
        tf.tensor2d(ids, [chunk.length, T], 'int32'),
        tf.tensor2d(mask, [chunk.length, T], 'float32'),
      ),
    );
    out.push(...Array.from(lp.dataSync()));
    lp.dispose();
  }
  return out;
}

/**
 * Summed (and per-token) log-prob of each gold answer + EOS under `model`, teacher-forced. Answers that
 * do not fit the context are cut (the cut tokens are not scored).
 */
export function goldLogProbs(
  model: GPT,
  rows: readonly { prompt: string; answer: string }[],
  batchSize = 64,
): { sum: number[]; perToken: number[] } {
  const sum: number[] = [];
  const perToken: number[] = [];
  for (const chunk of chunks(rows, batchSize)) {
    const batch = encodePairsForScoring(
      chunk.map((r) => ({ prompt: r.prompt, response: r.answer })),
      model.config.blockSize,
    );
    const lp = tf.tidy(() =>
      model.sequenceLogProbs(
        tf.tensor2d(batch.ids, [batch.rows, batch.seqLen], 'int32'),
        tf.tensor2d(batch.mask, [batch.rows, batch.seqLen], 'float32'),
      ),
    );
    const values = Array.from(lp.dataSync());
    lp.dispose();
    values.forEach((v, i) => {
      // Scored positions are 1..T-1 (BOS is never a target), as in the SFT loss.
      let tokens = 0;
      for (let t = 1; t < batch.seqLen; t++) tokens += batch.mask[i * batch.seqLen + t];
      sum.push(v);
      perToken.push(tokens > 0 ? v / tokens : 0);
    });
  }
  return { sum, perToken };
}
