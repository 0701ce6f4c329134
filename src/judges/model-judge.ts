// The `model` judge: a language model (typically one of the matrix models) ranks two responses to a
// prompt by their LENGTH-NORMALISED LOG-LIKELIHOOD under that model:
//
//   s(x, y) = log p(y, EOS | x) / (number of response tokens + 1 for EOS)     [nats per token]
//
// (computed with the same prompt layout and masked log-probs as training: prompt-format.ts and
// GPT.sequenceLogProbs). A response cut to fit the context loses its EOS and is scored on what fits.
// With Δ = s(x, a) − s(x, b):
//   |Δ| < epsilon (default 0.01)  → tie,     confidence 0.5
//   otherwise                     → higher s wins, confidence 0.5 + 0.5 · min(1, |Δ| / scale)
//                                   (default scale 1 nat/token: a gap of one nat per token or more
//                                   is fully confident; small gaps are near 0.5)
// A prompt that leaves no room for a response in the model's context gets "tie, confidence 0".
//
// The verdict does not depend on the order (a, b) beyond the swap, so asking both orders costs one
// scoring: per-(prompt, response) scores are memoised (bounded; `clearMemo()` after changing the
// model's weights). Concurrent `compare` calls are gathered and scored together in batches of up to
// `batchSize` rows; all tensors are released (sequenceLogProbs runs in tf.tidy).
//
// The judge does not select a tfjs backend; the process does that (initBackend) before use.
import type { GPT } from '../model/gpt.js';
import { loadModel } from '../model/checkpoint.js';
import { encodePairsForScoring, promptIds } from '../model/prompt-format.js';
import { sequenceLogProbs } from '../tso/dpo-step.js';
import type { Judge, Verdict } from './types.js';

export const DEFAULT_MODEL_JUDGE_EPSILON = 0.01;
export const DEFAULT_MODEL_JUDGE_SCALE = 1;

export interface ModelJudgeOptions {
  /** |Δ| below this (nats/token) is a tie. */
  epsilon?: number;
  /** |Δ| at which the confidence reaches 1 (nats/token). */
  scale?: number;
  /** Rows per forward pass (default 32). */
  batchSize?: number;
  /** Memoised (prompt, response) scores kept (default 4096; 0 disables). */
  memoSize?: number;
  /** Shown in lineage (`raw`); defaults to "model". */
  modelName?: string;
  /** Judge name (default "model"). */
  name?: string;
}

/** A response's score: mean log-prob per response token (EOS included). */
export interface ResponseScore {
  /** Summed log-prob of the response tokens (and EOS). */
  logProb: number;
  /** Number of response tokens scored (EOS included unless truncated). */
  tokens: number;
  /** logProb / tokens. */
  normalized: number;
  /** The response was cut to fit the context. */
  truncated: boolean;
}

interface Job {
  prompt: string;
  response: string;
  resolve: (s: ResponseScore | undefined) => void;
  reject: (e: unknown) => void;
}

const utf8 = new TextEncoder();
const memoKey = (prompt: string, response: string): string => JSON.stringify([prompt, response]);

export class ModelJudge implements Judge {
  readonly name: string;
  readonly model: GPT;
  readonly modelName: string;
  readonly epsilon: number;
  readonly scale: number;
  readonly batchSize: number;
  readonly memoSize: number;
  /** Forward passes run and rows scored (for tests and stats). */
  readonly stats = { batches: 0, rows: 0, memoHits: 0 };
  private readonly ownsModel: boolean;
  private readonly memo = new Map<string, ResponseScore>();
  private queue: Job[] = [];
  private scheduled = false;
  private disposed = false;

  constructor(model: GPT, options: ModelJudgeOptions = {}, ownsModel = false) {
    this.model = model;
    this.ownsModel = ownsModel;
    this.name = options.name ?? 'model';
    this.modelName = options.modelName ?? 'model';
    this.epsilon = options.epsilon ?? DEFAULT_MODEL_JUDGE_EPSILON;
    this.scale = options.scale ?? DEFAULT_MODEL_JUDGE_SCALE;
    this.batchSize = options.batchSize ?? 32;
    this.memoSize = options.memoSize ?? 4096;
    if (!(this.epsilon >= 0)) throw new Error(`model judge: epsilon must be ≥ 0, got ${this.epsilon}`);
    if (!(this.scale > 0)) throw new Error(`model judge: scale must be > 0, got ${this.scale}`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new Error(`model judge: batchSize must be an integer ≥ 1, got ${this.batchSize}`);
    if (!Number.isInteger(this.memoSize) || this.memoSize < 0)
      throw new Error(`model judge: memoSize must be an integer ≥ 0, got ${this.memoSize}`);
  }

  /** Loads a model directory (weights checked against the manifest); `dispose()` frees it. */
  static async fromDir(dir: string, options: ModelJudgeOptions = {}): Promise<ModelJudge> {
    const { model } = await loadModel(dir, false);
    const modelName = options.modelName ?? dir.replace(/\/+$/, '').split('/').pop() ?? dir;
    return new ModelJudge(model, { ...options, modelName }, true);
  }

  /** The verdict rule from two scores (see the file header). */
  decide(sa: number, sb: number): { winner: 'a' | 'b' | 'tie'; confidence: number } {
    const delta = sa - sb;
    if (!Number.isFinite(delta)) {
      if (sa === sb) return { winner: 'tie', confidence: 0 };
      return { winner: sa > sb ? 'a' : 'b', confidence: 1 };
    }
    if (Math.abs(delta) < this.epsilon) return { winner: 'tie', confidence: 0.5 };
    return {
      winner: delta > 0 ? 'a' : 'b',
      confidence: 0.5 + 0.5 * Math.min(1, Math.abs(delta) / this.scale),
    };
  }

  async compare(prompt: string, a: string, b: string): Promise<Verdict> {
    const [sa, sb] = await Promise.all([this.score(prompt, a), this.score(prompt, b)]);
    if (sa === undefined || sb === undefined) {
      return { winner: 'tie', confidence: 0, raw: `${this.modelName}: prompt does not fit the context` };
    }
    const { winner, confidence } = this.decide(sa.normalized, sb.normalized);
    const fmt = (s: ResponseScore) => `${s.normalized.toFixed(4)}${s.truncated ? ' (truncated)' : ''}`;
    return {
      winner,
      confidence,
      raw: `${this.modelName}: mean logp/token a=${fmt(sa)} b=${fmt(sb)}`,
    };
  }

  /**
   * Score of `response` to `prompt`; undefined when the prompt leaves no room in the context.
   * Calls made in the same tick are scored in shared batches.
   */
  score(prompt: string, response: string): Promise<ResponseScore | undefined> {
    if (this.disposed) return Promise.reject(new Error('model judge: used after dispose()'));
    const hit = this.memo.get(memoKey(prompt, response));
    if (hit) {
      this.stats.memoHits++;
      return Promise.resolve({ ...hit });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ prompt, response, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Scores many rows now (batched); undefined for prompts that do not fit. */
  scoreMany(rows: readonly { prompt: string; response: string }[]): (ResponseScore | undefined)[] {
    const blockSize = this.model.config.blockSize;
    const out: (ResponseScore | undefined)[] = new Array(rows.length).fill(undefined);
    const todo: number[] = [];
    rows.forEach((r, i) => {
      if (promptIds(r.prompt).length < blockSize) todo.push(i);
    });
    for (let start = 0; start < todo.length; start += this.batchSize) {
      const idx = todo.slice(start, start + this.batchSize);
      const enc = encodePairsForScoring(
        idx.map((i) => ({ prompt: rows[i].prompt, response: rows[i].response })),
        blockSize,
      );
      const lp = sequenceLogProbs(this.model, enc);
      this.stats.batches++;
      this.stats.rows += idx.length;
      idx.forEach((rowIdx, j) => {
        let tokens = 0;
        for (let t = 0; t < enc.seqLen; t++) tokens += enc.mask[j * enc.seqLen + t];
        // all response bytes + EOS, unless the context cut them
        const truncated = tokens < utf8.encode(rows[rowIdx].response).length + 1;
        const s: ResponseScore = {
          logProb: lp[j],
          tokens,
          normalized: tokens > 0 ? lp[j] / tokens : 0,
          truncated,
        };
        out[rowIdx] = s;
      });
    }
    return out;
  }

  private remember(prompt: string, response: string, s: ResponseScore): void {
    if (this.memoSize === 0) return;
    const k = memoKey(prompt, response);
    this.memo.delete(k);
    this.memo.set(k, s);
    while (this.memo.size > this.memoSize) {
      const oldest = this.memo.keys().next().value as string;
      this.memo.delete(oldest);
    }
  }

  private flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    if (jobs.length === 0) return;
    // one row per distinct (prompt, response)
    const unique = new Map<string, { prompt: string; response: string; jobs: Job[] }>();
    for (const j of jobs) {
      const k = memoKey(j.prompt, j.response);
      const u = unique.get(k);
      if (u) u.jobs.push(j);
      else unique.set(k, { prompt: j.prompt, response: j.response, jobs: [j] });
    }
    const entries = [...unique.values()];
    let scores: (ResponseScore | undefined)[];
    try {
      if (this.disposed) throw new Error('model judge: used after dispose()');
      scores = this.scoreMany(entries);
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    entries.forEach((u, i) => {
      const s = scores[i];
      if (s) this.remember(u.prompt, u.response, s);
      for (const j of u.jobs) j.resolve(s === undefined ? undefined : { ...s });
    });
  }

  /** Forgets memoised scores (needed after the model's weights change). */
  clearMemo(): void {
    this.memo.clear();
  }

  /** Frees the model if this judge loaded it (fromDir). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.memo.clear();
    if (this.ownsModel) this.model.dispose();
  }
}
