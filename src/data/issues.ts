import type { z } from 'zod';
import { isIntegerAt, keysAt } from './schema-walk.js';

/*
 * Turns zod issues into one-line diagnostics that name the field, what was expected and what
 * was found (`training.lr: expected number, got string "fast"`), instead of zod's generic text.
 */

type Issue = z.core.$ZodIssue;

export interface IssueFormatOptions {
  /** Quote string values in "got ..." (configs: yes; data lines: no, they can be long or private). */
  showValues: boolean;
}

export interface FormattedIssue {
  /** Full path of the offending key, e.g. `nodes[2].tier`. */
  key: string;
  /** `key: problem`, or just the problem for the document root. */
  message: string;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
const PREVIEW_CHARS = 40;

/** `nodes[2].tier`; keys that are not identifiers are quoted: `labels["a b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** `string "fast"`, `number 3`, `null`, `array`, `object`, `nothing` (missing). */
export function describeValue(value: unknown, showValue: boolean): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (!showValue) return typeof value;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  if (typeof value === 'string') {
    const cut = value.length > PREVIEW_CHARS ? `${value.slice(0, PREVIEW_CHARS)}…` : value;
    return `string ${JSON.stringify(cut)}`;
  }
  return typeof value;
}

/**
 * Edit distance for "did you mean" on misspelt keys: Levenshtein plus adjacent transpositions
 * (optimal string alignment), since swapped letters are the commonest typo (`modle`).
 */
export function levenshtein(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        cur[j] = Math.min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
}

/** The closest candidate within a typo-sized distance, or undefined. */
export function didYouMean(key: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === key.toLowerCase() ? 0 : levenshtein(key, c);
    if (d <= limit && d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function expectedName(expected: string): string {
  return expected === 'int' ? 'integer' : expected;
}

function bound(issue: Issue & { code: 'too_small' | 'too_big' }, got: unknown, int: boolean): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  const size = (unit: string): string => {
    const len = typeof got === 'string' || Array.isArray(got) ? `, got ${got.length}` : '';
    if (issue.exact) return `expected exactly ${limit} ${unit}${len}`;
    return `expected ${small ? 'at least' : 'at most'} ${limit} ${unit}${len}`;
  };
  switch (issue.origin) {
    case 'string':
      return small && limit === 1 && !issue.exact ? 'expected non-empty string' : size('characters');
    case 'array':
    case 'set':
      return size('items');
    case 'number':
    case 'int':
    case 'bigint': {
      const op = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      return `expected ${int ? 'integer' : 'number'} ${op} ${limit}, got ${typeof got === 'number' ? got : describeValue(got, true)}`;
    }
    default:
      return issue.message;
  }
}

/** What a type or value issue wanted, for merging union branches; undefined for other issues. */
function expectation(issue: Issue): string | undefined {
  if (issue.code === 'invalid_type') return expectedName(issue.expected);
  if (issue.code === 'invalid_value') return issue.values.map((v) => JSON.stringify(v)).join(' or ');
  return undefined;
}

/** The union branch that came closest: fewest issues, ties to the first declared. */
function closestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] {
  return branches.reduce((best, b) => (b.length < best.length ? b : best));
}

interface Ctx {
  input: unknown;
  schema: z.ZodType | undefined;
  opts: IssueFormatOptions;
}

function formatOne(issue: Issue, base: readonly PropertyKey[], ctx: Ctx, out: FormattedIssue[]): void {
  const path = [...base, ...issue.path];
  const key = formatPath(path);
  const got = valueAt(ctx.input, path);
  const push = (reason: string, k = key): void => {
    out.push({ key: k, message: key === '' ? reason : `${key}: ${reason}` });
  };
  switch (issue.code) {
    case 'invalid_type': {
      const int = issue.expected === 'int' || (ctx.schema !== undefined && isIntegerAt(ctx.schema, path));
      const exp = int && issue.expected === 'number' ? 'integer' : expectedName(issue.expected);
      if (got === undefined) return push(`missing (expected ${exp})`);
      // A number that is not an integer is only explained by showing it.
      const show = ctx.opts.showValues || (issue.expected === 'int' && typeof got === 'number');
      return push(`expected ${exp}, got ${describeValue(got, show)}`);
    }
    case 'too_small':
    case 'too_big':
      return push(bound(issue, got, ctx.schema !== undefined && isIntegerAt(ctx.schema, path)));
    case 'invalid_value': {
      const vals = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const exp = issue.values.length === 1 ? vals : `one of ${vals}`;
      return push(`expected ${exp}, got ${describeValue(got, true)}`);
    }
    case 'invalid_format':
      // A pattern's own message ("expected HOST:PORT") says more than "regex format"; zod's default
      // message for a pattern starts with "Invalid".
      if (issue.format === 'regex' && !issue.message.startsWith('Invalid'))
        return push(`${issue.message}, got ${describeValue(got, ctx.opts.showValues)}`);
      return push(`expected ${issue.format} format, got ${describeValue(got, ctx.opts.showValues)}`);
    case 'not_multiple_of':
      return push(`expected a multiple of ${issue.divisor}, got ${describeValue(got, true)}`);
    case 'unrecognized_keys': {
      const known = ctx.schema ? keysAt(ctx.schema, path) : [];
      for (const k of issue.keys) {
        const hint = didYouMean(k, known);
        const reason = `unknown key ${JSON.stringify(k)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`;
        push(reason, formatPath([...path, k]));
      }
      return;
    }
    case 'invalid_union':
      return formatUnion(issue, path, got, ctx, out);
    case 'invalid_key':
    case 'invalid_element':
      for (const sub of issue.issues) formatOne(sub, path, ctx, out);
      return;
    default:
      return push(issue.message);
  }
}

function formatUnion(
  issue: Issue & { code: 'invalid_union' },
  path: readonly PropertyKey[],
  got: unknown,
  ctx: Ctx,
  out: FormattedIssue[],
): void {
  const key = formatPath(path);
  const push = (reason: string): void => {
    out.push({ key, message: key === '' ? reason : `${key}: ${reason}` });
  };
  if (issue.errors.length === 0) {
    if (issue.discriminator !== undefined && 'options' in issue && issue.options) {
      // zod 4 already puts the discriminator at the end of the path; older shapes did not.
      const dpath = path[path.length - 1] === issue.discriminator ? path : [...path, issue.discriminator];
      const dkey = formatPath(dpath);
      const vals = issue.options.map((v) => JSON.stringify(v)).join(', ');
      const reason = `expected one of ${vals}, got ${describeValue(valueAt(ctx.input, dpath), true)}`;
      out.push({ key: dkey, message: `${dkey}: ${reason}` });
      return;
    }
    return push(issue.message);
  }
  // Every branch rejected the value itself: list the alternatives (`expected string or "auto"`).
  const alternatives = issue.errors.map((b) =>
    b.length === 1 && b[0].path.length === 0 ? expectation(b[0]) : undefined,
  );
  if (alternatives.every((a) => a !== undefined)) {
    const what = [...new Set(alternatives)].join(' or ');
    if (got === undefined) return push(`missing (expected ${what})`);
    return push(`expected ${what}, got ${describeValue(got, true)}`);
  }
  for (const sub of closestBranch(issue.errors)) formatOne(sub, path, ctx, out);
}

/**
 * Formats every issue. `input` is the value that was parsed (to show what was found); `schema`,
 * when given, lets unknown keys get a "did you mean" from their declared siblings.
 */
export function formatIssues(
  issues: readonly Issue[],
  input: unknown,
  schema: z.ZodType | undefined,
  opts: IssueFormatOptions,
): FormattedIssue[] {
  const out: FormattedIssue[] = [];
  const ctx: Ctx = { input, schema, opts };
  for (const issue of issues) formatOne(issue, [], ctx, out);
  return out;
}
