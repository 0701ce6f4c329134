// Held-out evaluation of a policy on the run's task: greedy responses scored by the task's gold scorer
// (src/tasks/task.ts); a task without gold is judged against the baseline instead (judge-eval.ts).
//
// Metrics (all over the held-out prompts, greedy decoding unless stated):
//   gold_reward           mean task.gold(prompt, response) over the prompts it scores
//   exact_match           fraction of those responses with full gold score (1: the right answer)
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
//   by_kind               per task category (the demo's kinds sort/rev/add; a held-out row's `category`):
//                         n, exact_match, gold_reward
//   gold_logprob          mean over held-out prompts of log π(gold answer + EOS | prompt), summed over the
//                         answer's tokens (GPT.sequenceLogProbs, teacher forcing); falls when probability
//                         mass moves away from the right answer (likelihood displacement)
//   gold_logprob_per_token  the same sum divided by the answer's token count, averaged over prompts
// The two baseline fields are present only when a baseline model is given; gold_reward, exact_match and
// by_kind only when the task scores some prompt; gold_logprob only when held-out rows carry an answer.
import { answerOptions, generate } from '../model/generate.js';
import type { GPT } from '../model/gpt.js';
import { promptIds, responseText } from '../model/prompt-format.js';
import { GREEDY } from '../model/sampling.js';
import type { Task } from '../tasks/task.js';
import { goldLogProbs, tokenSequenceLogProbs } from './eval-logprobs.js';
import { distinctN, exactMatchRate, klEstimate, mean, meanLength, winRate } from './eval-metrics.js';

/** The longest gold answer (a 9-digit sort, 17 characters) plus EOS fits, with room to spare. */
export const DEFAULT_MAX_NEW_TOKENS = 20;

export interface HeldoutExample {
  prompt: string;
  /** The gold answer; gives gold_logprob (scores come from the task's gold scorer). */
  answer?: string;
  /** The row's category (else the task's category of the prompt). */
  category?: string;
}

/** What evaluation needs of the task. */
export type EvalTask = Pick<Task, 'gold' | 'category'>;

export interface EvalOptions {
  /** The task's gold scorer and categories (without: no gold metrics). */
  task?: EvalTask;
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
  gold?: number;
  exact?: boolean;
  baseline_response?: string;
  baseline_gold?: number;
}

export interface EvalMetrics {
  n: number;
  gold_reward?: number;
  exact_match?: number;
  mean_length: number;
  distinct_1: number;
  distinct_2: number;
  gold_logprob?: number;
  gold_logprob_per_token?: number;
  by_kind?: Record<string, KindMetrics>;
  win_rate_vs_baseline?: number;
  kl_to_baseline?: number;
  /** Without gold: the judge's win rate of the policy against the baseline, both orders, ties half. */
  judge_win_rate_vs_baseline?: number;
}

export interface KindMetrics {
  n: number;
  exact_match: number;
  gold_reward: number;
}

export interface EvalResult extends EvalMetrics {
  responses: EvalResponse[];
}

export * from './eval-metrics.js';
export * from './eval-logprobs.js';

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

/** Per-category exact-match and gold reward over the prompts with a category and a gold score. */
export function metricsByKind(
  categories: readonly (string | undefined)[],
  exact: readonly (boolean | undefined)[],
  gold: readonly (number | undefined)[],
): Record<string, KindMetrics> {
  const acc: Record<string, { n: number; exact: number; gold: number }> = {};
  categories.forEach((kind, i) => {
    const g = gold[i];
    if (kind === undefined || g === undefined) return;
    const a = (acc[kind] ??= { n: 0, exact: 0, gold: 0 });
    a.n++;
    a.exact += exact[i] ? 1 : 0;
    a.gold += g;
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

const defined = <T>(xs: readonly (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

/** Evaluates `model` on held-out prompts (see the metric definitions at the top of this file). */
export function evaluatePolicy(
  model: GPT,
  heldout: readonly HeldoutExample[],
  opts: EvalOptions = {},
): EvalResult {
  const prompts = heldout.map((h) => h.prompt);
  const scorer = opts.task?.gold;
  const score = (p: string, r: string): number | undefined => scorer?.(p, r);
  const gen = { maxNewTokens: opts.maxNewTokens, batchSize: opts.batchSize };
  const responses = greedyResponses(model, prompts, gen);
  const gold = prompts.map((p, i) => score(p, responses[i]));
  // Full marks is the right answer (the demo's gold is 1 exactly for the trimmed exact answer).
  const exact = gold.map((g) => (g === undefined ? undefined : g === 1));
  const result: EvalResult = {
    n: prompts.length,
    mean_length: meanLength(responses),
    distinct_1: distinctN(responses, 1),
    distinct_2: distinctN(responses, 2),
    responses: prompts.map((p, i) => ({ prompt: p, response: responses[i], gold: gold[i], exact: exact[i] })),
  };
  const scored = defined(gold);
  if (scored.length > 0) {
    result.gold_reward = mean(scored);
    result.exact_match = exactMatchRate(defined(exact));
    const categories = heldout.map((h) => h.category ?? opts.task?.category?.(h.prompt));
    result.by_kind = metricsByKind(categories, exact, gold);
  }
  const withGold = heldout.flatMap((h) =>
    h.answer === undefined ? [] : [{ prompt: h.prompt, answer: h.answer }],
  );
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
    const baseGold = prompts.map((p, i) => score(p, baseResponses[i]));
    const both = gold.flatMap((g, i) => (g === undefined || baseGold[i] === undefined ? [] : [i]));
    if (both.length > 0)
      result.win_rate_vs_baseline = winRate(
        both.map((i) => gold[i]!),
        both.map((i) => baseGold[i]!),
      );
    result.kl_to_baseline = estimateKl(model, base, prompts, {
      ...gen,
      seed: opts.seed,
      samples: opts.klSamples,
    });
    result.responses.forEach((r, i) => {
      r.baseline_response = baseResponses[i];
      if (baseGold[i] !== undefined) r.baseline_gold = baseGold[i];
    });
  }
  return result;
}

/** The metrics without the per-prompt responses (for logs and JSON reports). */
export function metricsOnly(r: EvalResult): EvalMetrics {
  const { responses: _responses, ...metrics } = r;
  return metrics;
}
