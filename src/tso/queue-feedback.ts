// The `queue` human-feedback source: a labelling queue made of two JSONL files in the run dir.
//
// <runDir>/disputes.jsonl — written by tso, one line per dispute, each id written ONCE (also across
//   resumes: the ids already in the file are read first):
//     {"id": "p12:c3|c7", "prompt_id": "p12", "prompt": "sort: 4 1 3",
//      "a": "1 3 4", "b": "1 4 3", "ai": {"winner": "b", "confidence": 0.83}, "created_at": "…"}
//   `a` is the response the prior prefers, `b` the one the AI confidently preferred.
//
// <runDir>/labels.jsonl — written by humans (or a labelling tool), one line per label:
//     {"id": "p12:c3|c7", "label": "a"}          label: "a" | "b" | "tie" (case-insensitive)
//   Extra fields (e.g. "note", "labeller") are allowed. A later line for the same id replaces an
//   earlier one. Unknown ids are ignored. A bad line is logged as `file:line: reason` once and
//   skipped: a typo must not kill a run. An unterminated last line that does not parse yet is
//   taken to be mid-write and read again at the next poll (reported only at the final read).
//
// `label(disputes)` appends the new disputes, then polls the labels file every `pollMs` until every
// dispute has a label or `waitMs` has passed; unresolved disputes map to undefined (the correction's
// fallback applies: drop, trust AI or trust prior). Labels already in the file (e.g. from before a
// resume) resolve their disputes at once.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { appendJsonl, parseJsonlLine } from '../data/jsonl.js';
import { logger as makeLogger, type Logger } from '../util/log.js';
import type { Dispute, HumanFeedback, HumanLabel } from './human-feedback.js';

export const DISPUTES_FILE = 'disputes.jsonl';
export const LABELS_FILE = 'labels.jsonl';

/** One line of disputes.jsonl. */
export interface DisputeRecord {
  id: string;
  prompt_id: string;
  prompt: string;
  a: string;
  b: string;
  ai: { winner: string; confidence: number };
  created_at: string;
}

const LabelLineSchema = z.looseObject({
  id: z.string().min(1, 'must be a non-empty string'),
  label: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.enum(['a', 'b', 'tie'], { message: 'must be "a", "b" or "tie"' })),
});

const IdLineSchema = z.looseObject({ id: z.string().min(1) });

export interface QueueFeedbackOptions {
  runDir: string;
  /** How long `label` waits for labels, ms (0 = read once). */
  waitMs: number;
  /** Labels file poll interval, ms (default 1000). */
  pollMs?: number;
  /** Stops waiting early (e.g. on shutdown); labels read so far are returned. */
  signal?: AbortSignal;
  logger?: Logger;
}

export class QueueFeedback implements HumanFeedback {
  readonly name = 'queue';
  readonly disputesFile: string;
  readonly labelsFile: string;
  readonly waitMs: number;
  readonly pollMs: number;
  private readonly runDir: string;
  private readonly signal: AbortSignal | undefined;
  private readonly log: Logger;
  private written: Promise<Set<string>> | undefined;
  /** Serialises enqueue calls so an id is never appended twice. */
  private enqueueChain: Promise<unknown> = Promise.resolve();
  /** `line:text` of bad label lines already reported. */
  private readonly reported = new Set<string>();
  /** Bad label lines seen (each counted once). */
  badLabelLines = 0;

  constructor(options: QueueFeedbackOptions) {
    this.runDir = options.runDir;
    this.disputesFile = path.join(options.runDir, DISPUTES_FILE);
    this.labelsFile = path.join(options.runDir, LABELS_FILE);
    this.waitMs = options.waitMs;
    this.pollMs = options.pollMs ?? 1000;
    if (!(this.waitMs >= 0)) throw new Error(`queue feedback: waitMs must be ≥ 0, got ${this.waitMs}`);
    if (!(this.pollMs > 0)) throw new Error(`queue feedback: pollMs must be > 0, got ${this.pollMs}`);
    this.signal = options.signal;
    this.log = options.logger ?? makeLogger('queue-feedback');
  }

  /** Ids already in disputes.jsonl (read once, then tracked in memory). */
  private writtenIds(): Promise<Set<string>> {
    this.written ??= this.readWrittenIds().catch((e: unknown) => {
      this.written = undefined; // try again next time
      throw e;
    });
    return this.written;
  }

  private async readWrittenIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    let text = '';
    try {
      text = await readFile(this.disputesFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const r = parseJsonlLine(line, IdLineSchema);
      if (r.ok) ids.add(r.value.id);
      else this.log.warn(`${this.disputesFile}:${i + 1}: unreadable dispute line skipped: ${r.reason}`);
    });
    return ids;
  }

  /** Appends the disputes not yet in disputes.jsonl; returns how many were written. */
  enqueue(disputes: readonly Dispute[]): Promise<number> {
    const run = this.enqueueChain.then(() => this.append(disputes));
    this.enqueueChain = run.catch(() => undefined);
    return run;
  }

  private async append(disputes: readonly Dispute[]): Promise<number> {
    await mkdir(this.runDir, { recursive: true });
    const written = await this.writtenIds();
    let n = 0;
    for (const d of disputes) {
      if (written.has(d.id)) continue;
      const record: DisputeRecord = {
        id: d.id,
        prompt_id: d.promptId,
        prompt: d.prompt,
        a: d.a.text,
        b: d.b.text,
        ai: { winner: d.ai.winner, confidence: d.ai.confidence },
        created_at: new Date().toISOString(),
      };
      await appendJsonl(this.disputesFile, record);
      written.add(d.id);
      n++;
    }
    return n;
  }

  /**
   * All labels in labels.jsonl (last one per id wins). `final` reports an unterminated last line
   * that does not parse; otherwise it is assumed to be mid-write.
   */
  async readLabels(final = false): Promise<Map<string, HumanLabel>> {
    const labels = new Map<string, HumanLabel>();
    let text: string;
    try {
      text = await readFile(this.labelsFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return labels;
      this.log.warn(`${this.labelsFile}: cannot read labels (${(e as Error).message}); will retry`);
      return labels;
    }
    const lines = text.split('\n');
    const unterminated = !text.endsWith('\n');
    lines.forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '') return;
      const r = parseJsonlLine(line, LabelLineSchema);
      if (r.ok) {
        labels.set(r.value.id, r.value.label);
        return;
      }
      if (!final && unterminated && i === lines.length - 1) return; // being written
      const key = `${i + 1}:${line}`;
      if (this.reported.has(key)) return;
      this.reported.add(key);
      this.badLabelLines++;
      this.log.error(
        { file: this.labelsFile, line: i + 1 },
        `${this.labelsFile}:${i + 1}: bad label line skipped: ${r.reason} (expected {"id": "...", "label": "a"|"b"|"tie"})`,
      );
    });
    return labels;
  }

  async label(disputes: readonly Dispute[]): Promise<Map<string, HumanLabel | undefined>> {
    const out = new Map<string, HumanLabel | undefined>();
    if (disputes.length === 0) return out;
    const added = await this.enqueue(disputes);
    const ids = [...new Set(disputes.map((d) => d.id))];
    this.log.info(
      {
        disputes: ids.length,
        new: added,
        file: this.disputesFile,
        labels: this.labelsFile,
        waitMs: this.waitMs,
      },
      `waiting up to ${(this.waitMs / 1000).toFixed(1)} s for ${ids.length} labels in ${this.labelsFile}`,
    );
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const remaining = deadline - Date.now();
      const final = remaining <= 0 || this.signal?.aborted === true;
      const labels = await this.readLabels(final);
      const missing = ids.filter((id) => !labels.has(id));
      if (missing.length === 0 || final) {
        for (const id of ids) out.set(id, labels.get(id));
        if (missing.length > 0)
          this.log.info(
            { unresolved: missing.length, of: ids.length },
            `${missing.length} of ${ids.length} disputes unresolved; the fallback applies`,
          );
        return out;
      }
      await this.sleep(Math.min(this.pollMs, remaining));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        this.signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
