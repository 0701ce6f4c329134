// A verdict cache for remote judges: in memory, and optionally persisted as JSONL so that a rerun
// (or a resumed run) asks the remote endpoint only the questions it has not answered yet.
//
// Keys are SHA-256 hashes of the parts that determine an answer (for the openai judge: model,
// prompt template, prompt, a, b), so the file holds no plaintext prompts or responses.
// File format, one line per verdict: {"key": "<64 hex>", "verdict": {winner, confidence, raw?}}.
// Reading is tolerant: the cache only saves work, so a bad line (e.g. a fragment left by a killed
// writer) is logged as file:line and skipped, never fatal. A key seen twice keeps the last value.
// Appends go through appendJsonl (one write per line on an O_APPEND descriptor).
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { appendJsonl, parseJsonlLine } from '../data/jsonl.js';
import { logger as makeLogger, type Logger } from '../util/log.js';
import type { Verdict } from './types.js';

const CacheLineSchema = z.object({
  key: z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-hex-digit key'),
  verdict: z.object({
    winner: z.enum(['a', 'b', 'tie']),
    confidence: z.number().min(0).max(1),
    raw: z.string().optional(),
    unparsable: z.boolean().optional(),
  }),
});

/** SHA-256 (hex) of the parts; unambiguous because the parts are JSON-encoded as one array. */
export function verdictKey(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export interface VerdictCacheOptions {
  /** JSONL file to load from and append to; memory only when absent. */
  file?: string;
  logger?: Logger;
}

export class VerdictCache {
  readonly file: string | undefined;
  private readonly map = new Map<string, Verdict>();
  private readonly log: Logger;
  private loading: Promise<void> | undefined;
  /** Lines of the file that could not be read (skipped). */
  badLines = 0;

  constructor(options: VerdictCacheOptions = {}) {
    this.file = options.file;
    this.log = options.logger ?? makeLogger('verdict-cache');
  }

  get size(): number {
    return this.map.size;
  }

  /** Loads the file once (a missing file is an empty cache); later calls return the same promise. */
  load(): Promise<void> {
    this.loading ??= this.loadFile();
    return this.loading;
  }

  private async loadFile(): Promise<void> {
    if (this.file === undefined) return;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`verdict cache ${this.file}: cannot read (${(e as Error).message})`, { cause: e });
    }
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const r = parseJsonlLine(line, CacheLineSchema);
      if (r.ok) {
        this.map.set(r.value.key, r.value.verdict);
      } else {
        this.badLines++;
        this.log.warn(
          { file: this.file, line: i + 1 },
          `${this.file}:${i + 1}: skipped cache line: ${r.reason}`,
        );
      }
    });
    this.log.debug({ file: this.file, entries: this.map.size }, 'verdict cache loaded');
  }

  get(key: string): Verdict | undefined {
    const v = this.map.get(key);
    return v === undefined ? undefined : { ...v };
  }

  /** Stores a verdict in memory and, when a file is configured, appends it there. */
  async set(key: string, verdict: Verdict): Promise<void> {
    await this.load();
    const v: Verdict = { winner: verdict.winner, confidence: verdict.confidence };
    if (verdict.raw !== undefined) v.raw = verdict.raw;
    if (verdict.unparsable) v.unparsable = true;
    this.map.set(key, v);
    if (this.file !== undefined) {
      await mkdir(path.dirname(this.file), { recursive: true });
      await appendJsonl(this.file, { key, verdict: v });
    }
  }
}
