import { describeValue } from './issues.js';

/** At most this many problems are kept and printed; the rest are only counted. */
export const MAX_REPORTED_PROBLEMS = 20;

export interface DataProblem {
  line: number;
  reason: string;
}

/**
 * A bad record in a data file. `file`, `line` and `reason` describe the first bad line; when a
 * whole file was checked, `problems` holds the first {@link MAX_REPORTED_PROBLEMS} and `count`
 * the total, so one error reports every bad line instead of one per run.
 */
export class DataError extends Error {
  override name = 'DataError';
  readonly file: string;
  readonly line: number;
  readonly reason: string;
  readonly problems: readonly DataProblem[];
  readonly count: number;

  constructor(
    file: string,
    line: number,
    reason: string,
    options: { cause?: unknown; problems?: readonly DataProblem[]; count?: number } = {},
  ) {
    const problems = (options.problems ?? [{ line, reason }]).slice(0, MAX_REPORTED_PROBLEMS);
    const count = Math.max(options.count ?? 1, problems.length);
    super(dataMessage(file, line, reason, problems, count), { cause: options.cause });
    this.file = file;
    this.line = line;
    this.reason = reason;
    this.problems = problems;
    this.count = count;
  }

  /** One error for many bad lines; `count` may exceed `problems.length` when the list was capped. */
  static fromProblems(file: string, problems: readonly DataProblem[], count = problems.length): DataError {
    if (problems.length === 0) throw new RangeError('DataError.fromProblems needs at least one problem');
    return new DataError(file, problems[0].line, problems[0].reason, { problems, count });
  }
}

function dataMessage(
  file: string,
  line: number,
  reason: string,
  problems: readonly DataProblem[],
  count: number,
): string {
  if (count <= 1) return `${file}:${line}: ${reason}`;
  const lines = problems.map((p) => `${file}:${p.line}: ${p.reason}`);
  const capped = count > problems.length ? `, first ${problems.length} shown` : '';
  lines.push(`${file}: ${count} bad lines${capped}`);
  return lines.join('\n');
}

export interface ConfigProblem {
  /** Path of the offending key, e.g. `nodes[2].tier`; '' for the whole document. */
  key: string;
  /** The diagnostic without the source prefix, e.g. `training.lr: expected number, got string "fast"`. */
  message: string;
  /** Position in the source text, when known (syntax errors). */
  line?: number;
  col?: number;
}

/**
 * An invalid configuration. `key` is the first offending key path; `problems` lists every one.
 * Each line of the message is `source[:line:col]: problem`, so editors can jump to it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly key: string;
  readonly source: string | undefined;
  readonly problems: readonly ConfigProblem[];

  /** A single problem: `key: expected <expected>, got <description of got>`. */
  constructor(key: string, expected: string, got: unknown, source?: string);
  /** Many problems, already formatted. */
  constructor(problems: readonly ConfigProblem[], source?: string);
  constructor(first: string | readonly ConfigProblem[], second?: string, got?: unknown, source?: string) {
    let problems: readonly ConfigProblem[];
    let src: string | undefined;
    if (typeof first === 'string') {
      const prefix = first === '' ? '' : `${first}: `;
      problems = [
        { key: first, message: `${prefix}expected ${second ?? '?'}, got ${describeValue(got, true)}` },
      ];
      src = source;
    } else {
      if (first.length === 0) throw new RangeError('ConfigError needs at least one problem');
      problems = first;
      src = second;
    }
    super(problems.map((p) => formatConfigProblem(p, src)).join('\n'));
    this.key = problems[0].key;
    this.source = src;
    this.problems = problems;
  }
}

function formatConfigProblem(p: ConfigProblem, source: string | undefined): string {
  const pos = p.line === undefined ? '' : `${p.line}:${p.col ?? 1}`;
  const where = [source, pos].filter((s) => s !== undefined && s !== '').join(':');
  return where === '' ? p.message : `${where}: ${p.message}`;
}
