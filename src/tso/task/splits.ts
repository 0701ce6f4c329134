// Seeded train / held-out splits of the demo task.
//
// Disjoint by construction: the prompt space itself is partitioned by a fixed hash of the prompt
// string (`splitOfPrompt`), independent of any seed. About HELDOUT_FRACTION of all possible prompts
// belong to the held-out partition and can never be drawn into a train split, whatever the seeds
// of the two splits. Within one split prompts are unique.
import { Rng, hashUnit } from '../rng.js';
import {
  ADD_MAX,
  REV_MAX,
  REV_MIN,
  SORT_MAX,
  SORT_MIN,
  TASK_KINDS,
  answerOf,
  formatPrompt,
} from './grammar.js';
import type { ParsedPrompt, TaskKind } from './grammar.js';
import type { PromptRecord as DataPromptRecord } from '../../data/formats.js';

export type SplitName = 'train' | 'heldout';

/** Share of the prompt space reserved for held-out evaluation. */
export const HELDOUT_FRACTION = 0.2;
const PARTITION_KEY = 'tso-demo-partition-v1';
const MAX_ATTEMPTS_PER_PROMPT = 10_000;

export interface TaskExample {
  id: string;
  kind: TaskKind;
  prompt: string;
  answer: string;
}

/** A dataset row (JSONL) in the data module's format, with the id always set. */
export type PromptRecord = DataPromptRecord & { id: string };

export interface SplitOptions {
  seed: number | string;
  n: number;
  /** Kinds to draw, round-robin in this order (default: all three). */
  kinds?: readonly TaskKind[];
  split?: SplitName;
}

export interface DatasetOptions extends SplitOptions {
  /** Fraction of rows (rounded to a count, chosen by seed) whose `human_response` is the gold answer. */
  humanFraction?: number;
}

/** Which partition a prompt belongs to; fixed for all time and all seeds. */
export function splitOfPrompt(prompt: string): SplitName {
  return hashUnit(PARTITION_KEY, prompt) < HELDOUT_FRACTION ? 'heldout' : 'train';
}

function drawPrompt(rng: Rng, kind: TaskKind): ParsedPrompt {
  switch (kind) {
    case 'sort': {
      const len = rng.int(SORT_MIN, SORT_MAX);
      return { kind, digits: Array.from({ length: len }, () => rng.int(0, 9)) };
    }
    case 'rev': {
      const len = rng.int(REV_MIN, REV_MAX);
      const letters = Array.from({ length: len }, () => String.fromCharCode(97 + rng.int(0, 25))).join('');
      return { kind, letters };
    }
    case 'add':
      return { kind, x: rng.int(0, ADD_MAX), y: rng.int(0, ADD_MAX) };
  }
}

function checkOptions(o: SplitOptions): readonly TaskKind[] {
  if (!Number.isInteger(o.n) || o.n < 0)
    throw new Error(`demo task: n must be a non-negative integer, got ${o.n}`);
  const kinds = o.kinds ?? TASK_KINDS;
  if (kinds.length === 0) throw new Error('demo task: kinds must not be empty');
  for (const k of kinds) {
    if (!TASK_KINDS.includes(k)) throw new Error(`demo task: unknown kind ${JSON.stringify(k)}`);
  }
  return kinds;
}

/** `n` unique prompts of the given split, kinds round-robin, fully determined by the options. */
export function makeSplit(options: SplitOptions): TaskExample[] {
  const kinds = checkOptions(options);
  const split = options.split ?? 'train';
  const rng = Rng.fromSeed(options.seed, 'demo-split', split);
  const seen = new Set<string>();
  const out: TaskExample[] = [];
  for (let i = 0; i < options.n; i++) {
    const kind = kinds[i % kinds.length];
    let attempts = 0;
    for (;;) {
      if (++attempts > MAX_ATTEMPTS_PER_PROMPT) {
        throw new Error(
          `demo task: cannot draw ${options.n} unique ${split} prompts of kinds ${kinds.join(',')}`,
        );
      }
      const parsed = drawPrompt(rng, kind);
      const prompt = formatPrompt(parsed);
      if (seen.has(prompt) || splitOfPrompt(prompt) !== split) continue;
      seen.add(prompt);
      out.push({ id: `${split}-${i}`, kind, prompt, answer: answerOf(parsed) });
      break;
    }
  }
  return out;
}

/** Dataset rows for a split; a seeded `humanFraction` of them carry the gold answer as `human_response`. */
export function makeDataset(options: DatasetOptions): PromptRecord[] {
  const examples = makeSplit(options);
  const fraction = options.humanFraction ?? 0;
  if (!(fraction >= 0 && fraction <= 1))
    throw new Error(`demo task: humanFraction must be in [0, 1], got ${fraction}`);
  const count = Math.round(fraction * examples.length);
  const order = Rng.fromSeed(options.seed, 'demo-human', options.split ?? 'train').shuffle(
    examples.map((_, i) => i),
  );
  const withHuman = new Set(order.slice(0, count));
  return examples.map((e, i) =>
    withHuman.has(i)
      ? { id: e.id, prompt: e.prompt, human_response: e.answer }
      : { id: e.id, prompt: e.prompt },
  );
}

/** One JSON object per line, newline-terminated. */
export function toJsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('');
}
