// The embedded demo task's exact prompt grammar (DESIGN.md, "The embedded demo task").
//
//   sort: 4 1 3   → 1 3 4   3–6 single digits separated by one space; answer ascending, same spacing
//   rev: abcd     → dcba    3–8 lowercase ASCII letters; answer reversed
//   add: 23+45    → 68      two integers 0–99 in canonical decimal (no sign, no leading zero)
//
// Parsing is exact: no surrounding whitespace, one space after the colon, nothing else. A prompt
// that does not match is "foreign" (parseTaskPrompt returns null), so the task never guesses.

export type TaskKind = 'sort' | 'rev' | 'add';
export const TASK_KINDS: readonly TaskKind[] = ['sort', 'rev', 'add'];

export type ParsedPrompt =
  | { kind: 'sort'; digits: number[] }
  | { kind: 'rev'; letters: string }
  | { kind: 'add'; x: number; y: number };

export const SORT_MIN = 3;
export const SORT_MAX = 6;
export const REV_MIN = 3;
export const REV_MAX = 8;
export const ADD_MAX = 99;

const SORT_RE = /^sort: ([0-9](?: [0-9]){2,5})$/;
const REV_RE = /^rev: ([a-z]{3,8})$/;
const ADD_RE = /^add: (0|[1-9][0-9]?)\+(0|[1-9][0-9]?)$/;

/** Kind and operands of a prompt in the demo grammar, or null for any other string. */
export function parseTaskPrompt(prompt: string): ParsedPrompt | null {
  let m = SORT_RE.exec(prompt);
  if (m) return { kind: 'sort', digits: m[1].split(' ').map(Number) };
  m = REV_RE.exec(prompt);
  if (m) return { kind: 'rev', letters: m[1] };
  m = ADD_RE.exec(prompt);
  if (m) return { kind: 'add', x: Number(m[1]), y: Number(m[2]) };
  return null;
}

/** Parses or throws a clear error naming the grammar (for callers that require a demo prompt). */
export function parseTaskPromptOrThrow(prompt: string): ParsedPrompt {
  const parsed = parseTaskPrompt(prompt);
  if (!parsed) {
    throw new Error(
      `demo task: prompt ${JSON.stringify(prompt.slice(0, 80))} is not in the grammar ` +
        "'sort: D D D' (3–6 digits), 'rev: letters' (3–8 a–z) or 'add: X+Y' (0–99)",
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

/** The gold answer of a demo prompt; throws for prompts outside the grammar. */
export function solve(prompt: string): string {
  return answerOf(parseTaskPromptOrThrow(prompt));
}
