// Partitions, seeded splits and the fixed held-out set of the task.
//
// The prompt space is partitioned by a fixed hash of the prompt text (`partitionOf`), independent of
// any seed: ~60% `sft` (pretraining data), ~20% `tso` (TSO training prompts), ~20% `heldout`. A prompt
// belongs to exactly one partition, so SFT data, TSO prompts and held-out prompts never overlap,
// whatever the seeds.
//
// Drawing a prompt: the level first (uniform over the levels with prompts left), then the length inside
// it (uniform), then the operands. So each level is ~1/3 of every split. Some cells of the space are
// tiny (easy add — both operands 0–9 — is only 100 prompts in all, ~20 per small partition): cells of
// at most ENUMERATE_LIMIT prompts are enumerated and drawn without replacement, and an exhausted cell
// gives its share to the kind's other cells; so drawing never loops forever, and a request that the
// partition cannot satisfy fails with a clear error.
import { Rng, hashUnit } from '../../tso/rng.js';
import { LEVEL_LENGTHS, TASK_KINDS, TASK_LEVELS, answerOf, formatPrompt, levelOfParsed } from './grammar.js';
import type { ParsedPrompt, TaskKind, TaskLevel } from './grammar.js';
import type { PromptRecord as DataPromptRecord } from '../../data/formats.js';

export type SplitName = 'sft' | 'tso' | 'heldout';
export const SPLIT_NAMES: readonly SplitName[] = ['sft', 'tso', 'heldout'];

/** Shares of the prompt space: [0, 0.2) held-out, [0.2, 0.4) tso, the rest sft. */
export const HELDOUT_FRACTION = 0.2;
export const TSO_FRACTION = 0.2;
const PARTITION_KEY = 'tso-task-partition-v2';
const MAX_ATTEMPTS_PER_PROMPT = 10_000;
/** Cells (kind, length) with at most this many prompts are enumerated instead of rejection-sampled. */
const ENUMERATE_LIMIT = 20_000;

/** The fixed held-out set: the same list for every run seed, round-robin over the kinds. */
export const HELDOUT_SET_SIZE = 1200;
const HELDOUT_SET_SEED = 'fixed-heldout-set-v1';

export interface TaskExample {
  id: string;
  kind: TaskKind;
  level: TaskLevel;
  prompt: string;
  answer: string;
}

/** A dataset row (JSONL) in the data module's format, with the id always set. */
export type PromptRecord = DataPromptRecord & { id: string };

export interface SplitOptions {
  seed: number | string;
  n: number;
  /** Kinds to draw, round-robin in this order (default: all three; repeats weight a kind). */
  kinds?: readonly TaskKind[];
  /** Partition to draw from (default 'tso'). */
  split?: SplitName;
  /** Prompts are unique within the split (default true); false draws i.i.d. (pretraining rows). */
  unique?: boolean;
}

export interface DatasetOptions extends SplitOptions {
  /** Fraction of rows (rounded to a count, chosen by seed) whose `human_response` is the gold answer. */
  humanFraction?: number;
}

/** Which partition a prompt belongs to; fixed for all time and all seeds. */
export function partitionOf(prompt: string): SplitName {
  const h = hashUnit(PARTITION_KEY, prompt);
  return h < HELDOUT_FRACTION ? 'heldout' : h < HELDOUT_FRACTION + TSO_FRACTION ? 'tso' : 'sft';
}

// ---- cells: (kind, length), the unit the sampler draws from ----

interface Cell {
  kind: TaskKind;
  level: TaskLevel;
  len: number;
  size: number;
}

function cellSize(kind: TaskKind, len: number): number {
  if (kind === 'sort') return 10 ** len;
  if (kind === 'rev') return 26 ** len;
  return len === 1 ? 100 : 10 ** (2 * len) - 10 ** (2 * len - 2);
}

const CELLS: readonly Cell[] = TASK_KINDS.flatMap((kind) =>
  TASK_LEVELS.flatMap((level) => {
    const [lo, hi] = LEVEL_LENGTHS[kind][level];
    return Array.from({ length: hi - lo + 1 }, (_, i) => ({
      kind,
      level,
      len: lo + i,
      size: cellSize(kind, lo + i),
    }));
  }),
);

const cellKey = (c: Cell) => `${c.kind}/${c.len}`;

function drawInCell(rng: Rng, c: Cell): ParsedPrompt {
  switch (c.kind) {
    case 'sort':
      return { kind: 'sort', digits: Array.from({ length: c.len }, () => rng.int(0, 9)) };
    case 'rev': {
      const letters = Array.from({ length: c.len }, () => String.fromCharCode(97 + rng.int(0, 25)));
      return { kind: 'rev', letters: letters.join('') };
    }
    case 'add': {
      // Uniform over pairs whose larger operand has exactly `len` digits (rejection: ≥ 1% accepted).
      const hi = 10 ** c.len - 1;
      const lo = c.len === 1 ? 0 : 10 ** (c.len - 1);
      for (;;) {
        const x = rng.int(0, hi);
        const y = rng.int(0, hi);
        if (Math.max(x, y) >= lo) return { kind: 'add', x, y };
      }
    }
  }
}

function enumerateCell(c: Cell): ParsedPrompt[] {
  const out: ParsedPrompt[] = [];
  for (let i = 0; i < c.size; i++) {
    if (c.kind === 'sort') {
      out.push({ kind: 'sort', digits: String(i).padStart(c.len, '0').split('').map(Number) });
    } else if (c.kind === 'rev') {
      let letters = '';
      for (let j = 0, v = i; j < c.len; j++, v = Math.floor(v / 26))
        letters += String.fromCharCode(97 + (v % 26));
      out.push({ kind: 'rev', letters });
    }
  }
  if (c.kind === 'add') {
    const hi = 10 ** c.len - 1;
    const lo = c.len === 1 ? 0 : 10 ** (c.len - 1);
    for (let x = 0; x <= hi; x++)
      for (let y = 0; y <= hi; y++) if (Math.max(x, y) >= lo) out.push({ kind: 'add', x, y });
  }
  return out;
}

const enumerated = new Map<string, ParsedPrompt[]>();

/** The prompts of a small cell that belong to `split`, in a fixed order (cached). */
function cellPool(c: Cell, split: SplitName): ParsedPrompt[] {
  const key = `${cellKey(c)}/${split}`;
  let pool = enumerated.get(key);
  if (!pool) {
    pool = enumerateCell(c).filter((p) => partitionOf(formatPrompt(p)) === split);
    enumerated.set(key, pool);
  }
  return pool;
}

function checkOptions(o: SplitOptions): readonly TaskKind[] {
  if (!Number.isInteger(o.n) || o.n < 0)
    throw new Error(`task: n must be a non-negative integer, got ${o.n}`);
  const kinds = o.kinds ?? TASK_KINDS;
  if (kinds.length === 0) throw new Error('task: kinds must not be empty');
  for (const k of kinds) {
    if (!TASK_KINDS.includes(k)) throw new Error(`task: unknown kind ${JSON.stringify(k)}`);
  }
  if (o.split !== undefined && !SPLIT_NAMES.includes(o.split))
    throw new Error(`task: unknown split ${JSON.stringify(o.split)} (known: ${SPLIT_NAMES.join(', ')})`);
  return kinds;
}

/** Draws prompts of one split: level-uniform, then length-uniform, per the file header. */
class SplitSampler {
  private readonly seen = new Set<string>();
  /** Remaining (not yet drawn) prompts of the enumerated cells, when unique. */
  private readonly remaining = new Map<string, ParsedPrompt[]>();

  constructor(
    private readonly rng: Rng,
    private readonly split: SplitName,
    private readonly unique: boolean,
  ) {}

  private left(c: Cell): ParsedPrompt[] | null {
    if (c.size > ENUMERATE_LIMIT) return null;
    const key = cellKey(c);
    let r = this.remaining.get(key);
    if (!r) {
      r = [...cellPool(c, this.split)];
      this.remaining.set(key, r);
    }
    return r;
  }

  private open(c: Cell): boolean {
    const left = this.left(c);
    return left === null || left.length > 0;
  }

  draw(kind: TaskKind): ParsedPrompt | null {
    const cells = CELLS.filter((c) => c.kind === kind && this.open(c));
    const levels = TASK_LEVELS.filter((l) => cells.some((c) => c.level === l));
    if (levels.length === 0) return null;
    const level = this.rng.pick(levels);
    const cell = this.rng.pick(cells.filter((c) => c.level === level));
    const left = this.left(cell);
    if (left) {
      const i = this.rng.below(left.length);
      const p = left[i];
      if (this.unique) {
        left[i] = left[left.length - 1];
        left.pop();
      }
      return p;
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS_PER_PROMPT; attempt++) {
      const p = drawInCell(this.rng, cell);
      const prompt = formatPrompt(p);
      if (partitionOf(prompt) !== this.split || (this.unique && this.seen.has(prompt))) continue;
      if (this.unique) this.seen.add(prompt);
      return p;
    }
    return null;
  }
}

/** `n` prompts of the given split, kinds round-robin, fully determined by the options. */
export function makeSplit(options: SplitOptions): TaskExample[] {
  const kinds = checkOptions(options);
  const split = options.split ?? 'tso';
  const sampler = new SplitSampler(
    Rng.fromSeed(options.seed, 'task-split', split),
    split,
    options.unique ?? true,
  );
  const out: TaskExample[] = [];
  for (let i = 0; i < options.n; i++) {
    const kind = kinds[i % kinds.length];
    const parsed = sampler.draw(kind);
    if (!parsed) {
      throw new Error(
        `task: cannot draw ${options.n} unique ${split} prompts of kinds ${kinds.join(',')} ` +
          `(the ${split} partition ran out of ${kind} prompts after ${i})`,
      );
    }
    const prompt = formatPrompt(parsed);
    out.push({ id: `${split}-${i}`, kind, level: levelOfParsed(parsed), prompt, answer: answerOf(parsed) });
  }
  return out;
}

let heldoutCache: readonly TaskExample[] | undefined;

/** The fixed held-out set (HELDOUT_SET_SIZE prompts, seed-independent, kinds round-robin). */
export function heldoutSet(): readonly TaskExample[] {
  heldoutCache ??= makeSplit({ seed: HELDOUT_SET_SEED, n: HELDOUT_SET_SIZE, split: 'heldout' });
  return heldoutCache;
}

/**
 * The first `n` prompts of the fixed held-out set (restricted to `kinds` when given). Because the set is
 * round-robin over the kinds, any prefix is balanced.
 */
export function heldoutPrompts(n: number, kinds: readonly TaskKind[] = TASK_KINDS): TaskExample[] {
  checkOptions({ seed: 0, n, kinds });
  const rows = heldoutSet().filter((e) => kinds.includes(e.kind));
  if (n > rows.length)
    throw new Error(
      `task: the fixed held-out set has ${rows.length} prompts of kinds ${kinds.join(',')}, ${n} requested`,
    );
  return rows.slice(0, n);
}

/** Dataset rows for a split; a seeded `humanFraction` of them carry the gold answer as `human_response`. */
export function makeDataset(options: DatasetOptions): PromptRecord[] {
  const examples = makeSplit(options);
  const fraction = options.humanFraction ?? 0;
  if (!(fraction >= 0 && fraction <= 1))
    throw new Error(`task: humanFraction must be in [0, 1], got ${fraction}`);
  const count = Math.round(fraction * examples.length);
  const order = Rng.fromSeed(options.seed, 'task-human', options.split ?? 'tso').shuffle(
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
