// The embedded task's exact prompt grammar (responses are the bare answer):
//
//   sort: 4 1 3 9   → 1 3 4 9   3–9 single digits separated by one space; answer ascending, same spacing
//   rev: abcdef     → fedcba    3–10 lowercase ASCII letters; answer reversed
//   add: 123+45     → 168       two integers 0–999 in canonical decimal (no sign, no leading zero)
//
// Levels (by length, so a level is visible from the prompt text and is not gold):
//
//   kind   easy                     medium                   hard
//   sort   3–4 digits               5–6 digits               7–9 digits
//   rev    3–5 letters              6–8 letters              9–10 letters
//   add    larger operand 1 digit   larger operand 2 digits  larger operand 3 digits
//
// Parsing is exact: no surrounding whitespace, one space after the colon, nothing else. A prompt
// that does not match is "foreign" (parseTaskPrompt returns null), so the task never guesses.

export type TaskKind = 'sort' | 'rev' | 'add';
export const TASK_KINDS: readonly TaskKind[] = ['sort', 'rev', 'add'];

export type TaskLevel = 'easy' | 'medium' | 'hard';
export const TASK_LEVELS: readonly TaskLevel[] = ['easy', 'medium', 'hard'];

export type ParsedPrompt =
  | { kind: 'sort'; digits: number[] }
  | { kind: 'rev'; letters: string }
  | { kind: 'add'; x: number; y: number };

export const SORT_MIN = 3;
export const SORT_MAX = 9;
export const REV_MIN = 3;
export const REV_MAX = 10;
export const ADD_MAX = 999;

/**
 * The "length" of each level, inclusive: digits for sort, letters for rev, digits of the larger operand
 * for add. Together they cover each kind's whole range exactly once.
 */
export const LEVEL_LENGTHS: Readonly<
  Record<TaskKind, Readonly<Record<TaskLevel, readonly [number, number]>>>
> = {
  sort: { easy: [3, 4], medium: [5, 6], hard: [7, 9] },
  rev: { easy: [3, 5], medium: [6, 8], hard: [9, 10] },
  add: { easy: [1, 1], medium: [2, 2], hard: [3, 3] },
};

const SORT_RE = /^sort: ([0-9](?: [0-9]){2,8})$/;
const REV_RE = /^rev: ([a-z]{3,10})$/;
const ADD_RE = /^add: (0|[1-9][0-9]{0,2})\+(0|[1-9][0-9]{0,2})$/;

/** Kind and operands of a prompt in the task grammar, or null for any other string. */
export function parseTaskPrompt(prompt: string): ParsedPrompt | null {
  let m = SORT_RE.exec(prompt);
  if (m) return { kind: 'sort', digits: m[1].split(' ').map(Number) };
  m = REV_RE.exec(prompt);
  if (m) return { kind: 'rev', letters: m[1] };
  m = ADD_RE.exec(prompt);
  if (m) return { kind: 'add', x: Number(m[1]), y: Number(m[2]) };
  return null;
}

/** Parses or throws a clear error naming the grammar (for callers that require a task prompt). */
export function parseTaskPromptOrThrow(prompt: string): ParsedPrompt {
  const parsed = parseTaskPrompt(prompt);
  if (!parsed) {
    throw new Error(
      `task: prompt ${JSON.stringify(prompt.slice(0, 80))} is not in the grammar ` +
        "'sort: D D D' (3–9 digits), 'rev: letters' (3–10 a–z) or 'add: X+Y' (0–999)",
    );
  }
  return parsed;
}

export function formatPrompt(p: ParsedPrompt): string {
  switch (p.kind) {
    case 'sort':
      return `sort: ${p.digits.join(' ')}`;
    case 'rev':
      return `rev: ${p.letters}`;
    case 'add':
      return `add: ${p.x}+${p.y}`;
  }
}

export function answerOf(p: ParsedPrompt): string {
  switch (p.kind) {
    case 'sort':
      return [...p.digits].sort((u, v) => u - v).join(' ');
    case 'rev':
      return [...p.letters].reverse().join('');
    case 'add':
      return String(p.x + p.y);
  }
}

/** The gold answer of a task prompt; throws for prompts outside the grammar. */
export function solve(prompt: string): string {
  return answerOf(parseTaskPromptOrThrow(prompt));
}

/** The level-defining length of a parsed prompt (see LEVEL_LENGTHS). */
export function lengthOf(p: ParsedPrompt): number {
  switch (p.kind) {
    case 'sort':
      return p.digits.length;
    case 'rev':
      return p.letters.length;
    case 'add':
      return String(Math.max(p.x, p.y)).length;
  }
}

export function levelOfParsed(p: ParsedPrompt): TaskLevel {
  const len = lengthOf(p);
  const level = TASK_LEVELS.find((l) => {
    const [lo, hi] = LEVEL_LENGTHS[p.kind][l];
    return len >= lo && len <= hi;
  });
  // Unreachable for parsed prompts: the levels cover every length the grammar accepts.
  if (!level) throw new Error(`task: no level for a ${p.kind} prompt of length ${len}`);
  return level;
}

/** The kind of a prompt (its "category" for per-category statistics), or null for foreign prompts. */
export function kindOf(prompt: string): TaskKind | null {
  return parseTaskPrompt(prompt)?.kind ?? null;
}

/** The level of a prompt, or null for foreign prompts. */
export function levelOf(prompt: string): TaskLevel | null {
  const p = parseTaskPrompt(prompt);
  return p ? levelOfParsed(p) : null;
}

/** Kind and level of a prompt (e.g. `{ kind: 'add', level: 'hard' }`), or null for foreign prompts. */
export function categoryOf(prompt: string): { kind: TaskKind; level: TaskLevel } | null {
  const p = parseTaskPrompt(prompt);
  return p ? { kind: p.kind, level: levelOfParsed(p) } : null;
}
