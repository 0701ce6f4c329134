// Held-out evaluation of a policy on the demo task: greedy responses scored by the hidden gold scorer.
//
// Metrics (all over the held-out prompts, greedy decoding unless stated):
//   gold_reward           mean goldScore(prompt, response) (src/tso/task/gold.ts)
//   exact_match           fraction of responses equal to the gold answer (after trimming)
//   mean_length           mean response length in characters (Unicode code points)
//   distinct_1/2          character-level distinct-n: distinct character n-grams over all responses
//                         divided by the total number of character n-grams (0 when there are none).
//                         Character level because most answers are one "word" (rev, add).
//   win_rate_vs_baseline  fraction of prompts where gold(policy) > gold(baseline), ties count half
//   kl_to_baseline        Monte-Carlo estimate of KL(π ‖ π_base) over whole responses: for each prompt x,
//                         sample y ~ π(·|x) at temperature 1 (seeded, no top-k/top-p), then average
//                         log π(y|x) − log π_base(y|x) over the samples. Both log-probs are summed token
//                         log-probs of the response tokens (and EOS when emitted), computed by
//                         GPT.sequenceLogProbs. Unbiased, but a single sample can make it negative.
//   by_kind               per task kind (sort/rev/add; prompts the task parses): n, exact_match, gold_reward
//   gold_logprob          mean over held-out prompts of log π(gold answer + EOS | prompt), summed over the
//                         answer's tokens (GPT.sequenceLogProbs, teacher forcing); falls when probability
//                         mass moves away from the right answer (likelihood displacement)
//   gold_logprob_per_token  the same sum divided by the answer's token count, averaged over prompts
// The two baseline fields are present only when a baseline model is given; the gold fields only when
// the held-out prompts carry their answer or the task can solve them.
import * as tf from '@tensorflow/tfjs';
import { answerOptions, generate } from '../model/generate.js';
import type { GPT } from '../model/gpt.js';
import { promptIds, responseText } from '../model/prompt-format.js';
import { GREEDY } from '../model/sampling.js';
import { PAD_ID } from '../model/tokenizer.js';
import { encodePairsForScoring } from '../model/prompt-format.js';
import { goldScore, isExact, kindOf, parseTaskPrompt, solve } from './task/index.js';

/** The longest gold answer (a 9-digit sort, 17 characters) plus EOS fits, with room to spare. */
export const DEFAULT_MAX_NEW_TOKENS = 20;

export interface HeldoutExample {
  prompt: string;
  /** The gold answer; informational (scores come from the task's gold scorer). */
  answer?: string;
}

export interface EvalOptions {
  /** Maximum new tokens per response (default 20; the context also limits it). */
  maxNewTokens?: number;
  /** Prompts per generation / scoring batch (default 64). */
  batchSize?: number;
  /** The model to compare against (e.g. the initial policy): adds win rate and KL. */
  baseline?: GPT;
  /** Greedy baseline responses from an earlier evaluation (skips regenerating them). */
  baselineResponses?: string[];
  /** Seed of the temperature-1 samples of the KL estimate (default 0). */
  seed?: number;
  /** Samples per prompt for the KL estimate (default 1). */
  klSamples?: number;
}

export interface EvalResponse {
  prompt: string;
  response: string;
  gold: number;
  exact: boolean;
  baseline_response?: string;
  baseline_gold?: number;
}

export interface EvalMetrics {
  n: number;
  gold_reward: number;
  exact_match: number;
  mean_length: number;
  distinct_1: number;
  distinct_2: number;
  gold_logprob?: number;
  gold_logprob_per_token?: number;
  by_kind?: Record<string, KindMetrics>;
  win_rate_vs_baseline?: number;
  kl_to_baseline?: number;
}

export interface KindMetrics {
  n: number;
  exact_match: number;
  gold_reward: number;
}

export interface EvalResult extends EvalMetrics {
  responses: EvalResponse[];
}

// ---- pure metric helpers ----

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Fraction of true entries (0 for an empty list). */
export function exactMatchRate(exact: readonly boolean[]): number {
  return mean(exact.map((e) => (e ? 1 : 0)));
}

/** Mean length in characters (code points). */
export function meanLength(texts: readonly string[]): number {
  return mean(texts.map((t) => Array.from(t).length));
}

/**
 * Character-level distinct-n: |distinct n-grams| / |n-grams| over all texts (each text contributes
 * its own n-grams; none span two texts). 0 when no text has n characters.
 */
export function distinctN(texts: readonly string[], n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`distinct-n: n must be an integer >= 1, got ${n}`);
  const seen = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const chars = Array.from(t);
    for (let i = 0; i + n <= chars.length; i++) {
      seen.add(chars.slice(i, i + n).join(''));
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/** Fraction of positions where a[i] > b[i]; ties count half. */
export function winRate(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`win rate: ${a.length} scores against ${b.length}`);
  if (a.length === 0) return 0;
  let wins = 0;
  for (let i = 0; i < a.length; i++) wins += a[i] > b[i] ? 1 : a[i] === b[i] ? 0.5 : 0;
  return wins / a.length;
}

/** Mean of log π(y|x) − log π_base(y|x) over samples y ~ π: the Monte-Carlo KL(π ‖ π_base) estimate. */
export function klEstimate(policyLogProbs: readonly number[], baseLogProbs: readonly number[]): number {
  if (policyLogProbs.length !== baseLogProbs.length)
    throw new Error(`kl: ${policyLogProbs.length} policy log-probs against ${baseLogProbs.length}`);
  return mean(policyLogProbs.map((p, i) => p - baseLogProbs[i]));
}

// ---- model-backed parts ----

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Greedy responses for the prompts, generated in batches. */
export function greedyResponses(
  model: GPT,
  prompts: readonly string[],
  opts: { maxNewTokens?: number; batchSize?: number } = {},
): string[] {
  const batchSize = opts.batchSize ?? 64;
  const out: string[] = [];
  chunks(prompts, batchSize).forEach((chunk, c) => {
    const gens = generate(
      model,
      chunk.map((p) => promptIds(p)),
      answerOptions(
        { ...GREEDY, maxNewTokens: opts.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS },
        0,
        c * batchSize,
      ),
    );
    for (const g of gens) out.push(responseText(g.tokens));
  });
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

/** Per-kind exact-match and gold reward over the prompts the task parses. */
export function metricsByKind(
  prompts: readonly string[],
  exact: readonly boolean[],
  gold: readonly number[],
): Record<string, KindMetrics> {
  const acc: Record<string, { n: number; exact: number; gold: number }> = {};
  prompts.forEach((p, i) => {
    const kind = kindOf(p);
    if (!kind) return;
    const a = (acc[kind] ??= { n: 0, exact: 0, gold: 0 });
    a.n++;
    a.exact += exact[i] ? 1 : 0;
    a.gold += gold[i];
  });
  return Object.fromEntries(
    Object.entries(acc).map(([k, a]) => [
      k,
      { n: a.n, exact_match: a.exact / a.n, gold_reward: a.gold / a.n },
    ]),
  );
}

/** The Monte-Carlo KL(π ‖ π_base) estimate described at the top of this file. */
export function estimateKl(
  policy: GPT,
  baseline: GPT,
  prompts: readonly string[],
  opts: { maxNewTokens?: number; batchSize?: number; seed?: number; samples?: number } = {},
): number {
  const batchSize = opts.batchSize ?? 64;
  const samples = opts.samples ?? 1;
  const rows: { prompt: number[]; response: number[] }[] = [];
  const expanded = prompts.flatMap((p) => Array.from({ length: samples }, () => p));
  chunks(expanded, batchSize).forEach((chunk, c) => {
    const ids = chunk.map((p) => promptIds(p));
    const gens = generate(
      policy,
      ids,
      answerOptions(
        { temperature: 1, topK: 0, topP: 1, maxNewTokens: opts.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS },
        opts.seed ?? 0,
        c * batchSize,
      ),
    );
    gens.forEach((g, i) => rows.push({ prompt: ids[i], response: g.tokens }));
  });
  const maxLen = Math.min(policy.config.blockSize, baseline.config.blockSize);
  const lpPolicy = tokenSequenceLogProbs(policy, rows, maxLen, batchSize);
  const lpBase = tokenSequenceLogProbs(baseline, rows, maxLen, batchSize);
  return klEstimate(lpPolicy, lpBase);
}

/** Evaluates `model` on held-out prompts (see the metric definitions at the top of this file). */
export function evaluatePolicy(
  model: GPT,
  heldout: readonly HeldoutExample[],
  opts: EvalOptions = {},
): EvalResult {
  const prompts = heldout.map((h) => h.prompt);
  const gen = { maxNewTokens: opts.maxNewTokens, batchSize: opts.batchSize };
  const responses = greedyResponses(model, prompts, gen);
  const gold = prompts.map((p, i) => goldScore(p, responses[i]));
  const exact = prompts.map((p, i) => isExact(p, responses[i]));
  const result: EvalResult = {
    n: prompts.length,
    gold_reward: mean(gold),
    exact_match: exactMatchRate(exact),
    mean_length: meanLength(responses),
    distinct_1: distinctN(responses, 1),
    distinct_2: distinctN(responses, 2),
    by_kind: metricsByKind(prompts, exact, gold),
    responses: prompts.map((p, i) => ({ prompt: p, response: responses[i], gold: gold[i], exact: exact[i] })),
  };
  const withGold = heldout.flatMap((h) => {
    const answer = h.answer ?? (parseTaskPrompt(h.prompt) ? solve(h.prompt) : undefined);
    return answer === undefined ? [] : [{ prompt: h.prompt, answer }];
  });
  if (withGold.length > 0) {
    const lp = goldLogProbs(model, withGold, opts.batchSize);
    result.gold_logprob = mean(lp.sum);
    result.gold_logprob_per_token = mean(lp.perToken);
  }
  const base = opts.baseline;
  if (base) {
    const baseResponses = opts.baselineResponses ?? greedyResponses(base, prompts, gen);
    if (baseResponses.length !== prompts.length)
      throw new Error(`evaluate: ${baseResponses.length} baseline responses for ${prompts.length} prompts`);
    const baseGold = prompts.map((p, i) => goldScore(p, baseResponses[i]));
    result.win_rate_vs_baseline = winRate(gold, baseGold);
    result.kl_to_baseline = estimateKl(model, base, prompts, {
      ...gen,
      seed: opts.seed,
      samples: opts.klSamples,
    });
    result.responses.forEach((r, i) => {
      r.baseline_response = baseResponses[i];
      r.baseline_gold = baseGold[i];
    });
  }
  return result;
}

/** The metrics without the per-prompt responses (for logs and JSON reports). */
export function metricsOnly(r: EvalResult): EvalMetrics {
  const { responses: _responses, ...metrics } = r;
  return metrics;
}
