import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../data/errors.js';
import { formatIssues } from '../data/issues.js';
import { findStripObjects } from '../data/schema-walk.js';

/*
 * Config files (YAML or JSON) are validated against strict zod schemas: a misspelt key must be an
 * error with a "did you mean", not a silently ignored setting that makes a long run go wrong.
 */

export type ConfigFormat = 'yaml' | 'json';

const checkedSchemas = new WeakSet<object>();

/**
 * Refuses schemas with plain `z.object` anywhere: those drop unknown keys silently. This is a
 * programming error, so it is a TypeError, not a ConfigError.
 */
function assertStrict(schema: z.ZodType): void {
  if (checkedSchemas.has(schema)) return;
  const loose = findStripObjects(schema);
  if (loose.length > 0) {
    throw new TypeError(
      `config schema must reject unknown keys; use z.strictObject (or z.looseObject on purpose) at: ${loose.join(', ')}`,
    );
  }
  checkedSchemas.add(schema);
}

/** Validates an already-parsed object; every problem is listed in one ConfigError. */
export function parseConfig<T>(obj: unknown, schema: z.ZodType<T>, sourceName?: string): T {
  assertStrict(schema);
  const res = schema.safeParse(obj);
  if (res.success) return res.data;
  const problems = formatIssues(res.error.issues, obj, schema, { showValues: true });
  throw new ConfigError(problems, sourceName);
}

export function formatOf(file: string): ConfigFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return undefined;
}

/** 1-based line and column of a character offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

function parseYaml(text: string, sourceName: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems: ConfigProblem[] = doc.errors.map((e) => {
      // yaml appends " at line L, column C:" and a source excerpt; we print the position ourselves.
      const reason = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
      const pos = e.linePos?.[0] ?? lineCol(text, e.pos[0]);
      return { key: '', message: `YAML syntax error: ${reason}`, line: pos.line, col: pos.col };
    });
    throw new ConfigError(problems, sourceName);
  }
  try {
    return doc.toJS();
  } catch (e) {
    // e.g. an alias to an undefined anchor, or an alias bomb over the alias-count limit.
    throw new ConfigError([{ key: '', message: `YAML error: ${(e as Error).message}` }], sourceName);
  }
}

function parseJson(text: string, sourceName: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /at position (\d+)/.exec(msg);
    const offset = m ? Number(m[1]) : /end of JSON input/.test(msg) ? text.length : undefined;
    const reason = msg.replace(/\s*in JSON at position \d+.*$/, '').replace(/\s*at position \d+.*$/, '');
    const problem: ConfigProblem = { key: '', message: `JSON syntax error: ${reason}` };
    if (offset !== undefined) Object.assign(problem, lineCol(text, offset));
    throw new ConfigError([problem], sourceName);
  }
}

/** Parses config text; syntax errors become ConfigErrors with `source:line:col`. */
export function parseConfigText(text: string, format: ConfigFormat, sourceName: string): unknown {
  return format === 'yaml' ? parseYaml(text, sourceName) : parseJson(text, sourceName);
}

/**
 * Reads a YAML (.yaml/.yml) or JSON (.json) file and validates it. Messages name the file as
 * given, e.g. `config/run.yaml: training.lr: expected number, got string "fast"`.
 */
export async function loadConfigFile<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  assertStrict(schema);
  const format = formatOf(file);
  if (format === undefined) {
    const ext = path.extname(file) || '(none)';
    throw new ConfigError(
      [{ key: '', message: `unsupported extension ${ext}; expected .yaml, .yml or .json` }],
      file,
    );
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ConfigError([{ key: '', message: `cannot read config: ${why}` }], file);
  }
  return parseConfig(parseConfigText(text, format, file), schema, file);
}
