// Batched autoregressive generation with a KV cache. Prompts of different lengths are left-padded;
// each row keeps its own positions and never attends to its padding.
import * as tf from '@tensorflow/tfjs';
import { disposeCache, type GPT } from './gpt.js';
import { logSoftmax, sampleToken, validateSampling, type SamplingParams } from './sampling.js';
import { deriveSeed, mulberry32 } from './seeded-normal.js';
import { BOS_ID, EOS_ID, PAD_ID } from './tokenizer.js';

export interface GenerateOptions extends SamplingParams {
  maxNewTokens: number;
  seed: number;
  eosId: number;
  padId: number;
  /** Tokens never sampled (e.g. BOS, PAD). */
  banned?: number[];
  /** Index of the first row in the caller's whole request (seeds stay the same however it is batched). */
  rowOffset?: number;
  /**
   * Record each new token's log-prob and this many most likely alternatives (`steps`), e.g. for an
   * OpenAI-style `logprobs` answer; undefined records nothing (the training path pays nothing).
   */
  topLogprobs?: number;
}

/** One generated token's log-prob (temperature 1) and the most likely alternatives at its position. */
export interface TokenStep {
  logprob: number;
  top: { id: number; logprob: number }[];
}

export interface Generation {
  /** New tokens, up to and including EOS when the model emitted one. */
  tokens: number[];
  /** Σ log p(token) under the model at temperature 1 (the summed response log-prob). */
  logProb: number;
  finished: boolean;
  /** Per new token, when `topLogprobs` was asked for. */
  steps?: TokenStep[];
}

/**
 * Generates for each prompt (token ids). Row i samples with its own RNG stream seeded from
 * (seed, rowOffset + i), so results depend only on the seed and the row's position in the request.
 */
export function generate(model: GPT, prompts: number[][], opts: GenerateOptions): Generation[] {
  validateSampling(opts);
  if (prompts.length === 0) return [];
  if (prompts.some((p) => p.length === 0))
    throw new Error('every prompt needs at least one token (e.g. BOS)');
  const B = prompts.length;
  const width = Math.max(...prompts.map((p) => p.length));
  const block = model.config.blockSize;
  if (width > block) throw new Error(`prompt of ${width} tokens does not fit the context of ${block}`);
  const pad = prompts.map((p) => width - p.length);
  const rngs = prompts.map((_, i) => mulberry32(deriveSeed(opts.seed, (opts.rowOffset ?? 0) + i)));
  const out: Generation[] = prompts.map(() => ({ tokens: [], logProb: 0, finished: false }));
  const cache = model.newCache(pad);
  const V = model.config.vocabSize;
  const banned = opts.banned ?? [];
  try {
    const input = new Int32Array(B * width);
    prompts.forEach((p, b) => input.set(p, b * width + pad[b]));
    pad.forEach((n, b) => input.fill(opts.padId, b * width, b * width + n));
    let ids = input;
    let T = width;
    // The longest row has no padding, so its position equals the column: stop at the context end.
    const steps = Math.min(opts.maxNewTokens, block - width);
    for (let step = 0; step < steps; step++) {
      const last = tf.tidy(() => {
        const logits = model.logits(tf.tensor2d(ids, [B, T], 'int32'), cache);
        return tf.slice(tf.reshape(logits, [B, T, V]), [0, T - 1, 0], [B, 1, V]);
      });
      const rows = last.dataSync();
      last.dispose();
      const next = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const row = rows.subarray(b * V, (b + 1) * V);
        if (out[b].finished) {
          next[b] = opts.padId;
          continue;
        }
        const tok = sampleToken(row, opts, rngs[b], banned);
        out[b].tokens.push(tok);
        const lp = logSoftmax(row);
        out[b].logProb += lp[tok];
        if (opts.topLogprobs !== undefined)
          (out[b].steps ??= []).push({ logprob: lp[tok], top: topTokens(lp, opts.topLogprobs, banned) });
        if (tok === opts.eosId) out[b].finished = true;
        next[b] = tok;
      }
      if (out.every((g) => g.finished)) break;
      ids = next;
      T = 1;
    }
  } finally {
    disposeCache(cache);
  }
  return out;
}

/** The k most likely tokens of one log-softmax row (ties by id), never a banned one. */
function topTokens(lp: Float64Array, k: number, banned: readonly number[]): TokenStep['top'] {
  if (k <= 0) return [];
  const ids = Array.from(lp.keys()).filter((i) => !banned.includes(i));
  ids.sort((a, b) => lp[b] - lp[a] || a - b);
  return ids.slice(0, k).map((id) => ({ id, logprob: lp[id] }));
}

/** A generator node's own sampling settings; each absent field keeps the run's value. */
export interface SamplingOverride {
  temperature?: number;
  topK?: number;
  topP?: number;
}

/**
 * The sampling a node actually uses: the run's request with the node's override applied. One
 * function for LocalPort and the cluster's generator nodes, so both sample (and record) the same.
 */
export function effectiveSampling<T extends SamplingParams>(s: T, o?: SamplingOverride): T {
  if (!o) return s;
  return {
    ...s,
    temperature: o.temperature ?? s.temperature,
    topK: o.topK ?? s.topK,
    topP: o.topP ?? s.topP,
  };
}

/** Options for answering prompts in tso's sequence layout: stop at EOS, never emit BOS or PAD. */
export function answerOptions(
  s: SamplingParams & { maxNewTokens: number },
  seed: number,
  rowOffset = 0,
): GenerateOptions {
  return {
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    maxNewTokens: s.maxNewTokens,
    seed,
    rowOffset,
    eosId: EOS_ID,
    padId: PAD_ID,
    banned: [BOS_ID, PAD_ID],
  };
}

/**
 * The batches of a Generate request of `prompts` prompts, `n` samples each, `batch` rows at a time:
 * sample by sample, prompts in order. `rowOffset` numbers the rows across the request, so row r's
 * sampling stream is seeded by (seed, r) whatever the batch size. A node and the in-process port
 * both walk this one layout, so they draw the same tokens.
 */
export function* generationBatches(
  prompts: number,
  n: number,
  batch: number,
): Generator<{ sample: number; from: number; to: number; rowOffset: number }> {
  for (let sample = 0; sample < n; sample++)
    for (let from = 0; from < prompts; from += batch)
      yield { sample, from, to: Math.min(prompts, from + batch), rowOffset: sample * prompts + from };
}
