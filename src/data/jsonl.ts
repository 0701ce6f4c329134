import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { DataError, MAX_REPORTED_PROBLEMS, type DataProblem } from './errors.js';
import { formatIssues } from './issues.js';

/*
 * JSON Lines: one JSON value per line, blank lines ignored. Every line is validated; a bad line
 * is always an error naming `file:line` and the field, never skipped.
 */

export interface JsonlEntry<T> {
  /** 1-based line number in the file. */
  line: number;
  value: T;
}

type Scanned<T> = { line: number; ok: true; value: T } | { line: number; ok: false; reason: string };

// fatal: corrupt bytes are reported as such instead of being smuggled in as U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Validates one line's text; the reason names the field and the problem. */
export function parseJsonlLine<T>(
  text: string,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `invalid JSON (${(e as Error).message})` };
  }
  const res = schema.safeParse(raw);
  if (res.success) return { ok: true, value: res.data };
  const msgs = formatIssues(res.error.issues, raw, schema, { showValues: false }).map((i) => i.message);
  return { ok: false, reason: msgs.join('; ') };
}

/** Raw lines as bytes, split on LF so a multi-byte character is never cut between chunks. */
async function* byteLines(file: string): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let nl = buf.indexOf(0x0a);
    while (nl !== -1) {
      yield buf.subarray(0, nl);
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    carry = Buffer.from(buf);
  }
  if (carry.length > 0) yield carry;
}

async function* scan<T>(file: string, schema: z.ZodType<T>): AsyncGenerator<Scanned<T>> {
  let line = 0;
  for await (const bytes of byteLines(file)) {
    line++;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      yield { line, ok: false, reason: 'invalid UTF-8' };
      continue;
    }
    if (text.trim() === '') continue;
    const r = parseJsonlLine(text, schema);
    yield r.ok ? { line, ok: true, value: r.value } : { line, ok: false, reason: r.reason };
  }
}

/**
 * Reads and validates a whole file. If any line is bad, throws one DataError listing the first
 * {@link MAX_REPORTED_PROBLEMS} bad lines and the total count, and returns nothing.
 */
export async function readJsonl<T>(file: string, schema: z.ZodType<T>): Promise<T[]> {
  const values: T[] = [];
  const problems: DataProblem[] = [];
  let bad = 0;
  for await (const r of scan(file, schema)) {
    if (r.ok) values.push(r.value);
    else {
      bad++;
      if (problems.length < MAX_REPORTED_PROBLEMS) problems.push({ line: r.line, reason: r.reason });
    }
  }
  if (bad > 0) throw DataError.fromProblems(file, problems, bad);
  return values;
}

/**
 * Streams a large file entry by entry. Throws a DataError at the first bad line: entries before
 * it were already handed out, so a caller that must be all-or-nothing uses readJsonl.
 */
export async function* readJsonlLines<T>(file: string, schema: z.ZodType<T>): AsyncGenerator<JsonlEntry<T>> {
  for await (const r of scan(file, schema)) {
    if (!r.ok) throw new DataError(file, r.line, r.reason);
    yield { line: r.line, value: r.value };
  }
}

function jsonLine(record: unknown, index: number): string {
  // JSON.stringify without indentation escapes every newline, so one record is one line.
  const s: unknown = JSON.stringify(record);
  if (typeof s !== 'string')
    throw new TypeError(`record ${index} is not JSON-serialisable (${typeof record})`);
  return `${s}\n`;
}

export function formatJsonl(records: Iterable<unknown>): string {
  let out = '';
  let i = 0;
  for (const r of records) out += jsonLine(r, i++);
  return out;
}

/**
 * Replaces `file` atomically: written to a temp file beside it, synced, then renamed, so a crash
 * leaves either the old file or the new one, never a truncated mix.
 */
export async function writeJsonl(file: string, records: Iterable<unknown>): Promise<void> {
  const text = formatJsonl(records);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Appends one record as one line with a single write on an O_APPEND descriptor, so concurrent
 * appenders (queues) never interleave within a line.
 */
export async function appendJsonl(file: string, record: unknown): Promise<void> {
  let line = jsonLine(record, 0);
  const fh = await open(file, 'a+');
  try {
    // A writer killed mid-line would glue its fragment to our record; start on a fresh line.
    // If another appender races us this adds at most a blank line, which readers ignore.
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) line = `\n${line}`;
    }
    const buf = Buffer.from(line, 'utf8');
    const { bytesWritten } = await fh.write(buf, 0, buf.length);
    if (bytesWritten !== buf.length) {
      throw new Error(`${file}: short append (${bytesWritten} of ${buf.length} bytes)`);
    }
  } finally {
    await fh.close();
  }
}
