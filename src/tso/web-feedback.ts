// The `web` human-feedback source: disputes are offered live to people on the coordinator's labelling
// page (src/ui/), and an answer reaches the waiting loop at once.
//
// One source of truth with the `queue` source: the disputes go to RUN_DIR/disputes.jsonl and every
// answer is a line of RUN_DIR/labels.jsonl in the queue's format ({"id", "label": "a"|"b"|"tie"}, plus
// who answered, when, and the order the two responses were shown in), written and read by QueueFeedback
// itself. So a resumed run takes the labels given before the interruption, and a person may still label
// by hand in the file.
//
// Per iteration at most `budgetPerIteration` disputes are offered (the most informative first: the
// correction orders them); the rest stay unresolved. Offered disputes wait up to `waitMs`; unanswered
// ones then follow the correction's fallback. A dispute is answered once: the first answer wins.
import { createHash } from 'node:crypto';
import { appendJsonl } from '../data/jsonl.js';
import { logger as makeLogger, type Logger } from '../util/log.js';
import type { Dispute, HumanFeedback, HumanLabel } from './human-feedback.js';
import type { OracleFeedbackState } from './oracle-feedback.js';
import { QueueFeedback } from './queue-feedback.js';

/** What the person pressed: the response shown first, second, or neither. */
export type WebChoice = 'first' | 'second' | 'tie';

/** 'ab' = the prior-preferred response (a) was shown first. */
export type ShownOrder = 'ab' | 'ba';

/** A dispute as the labelling page shows it (no prior, no judge verdict: the person decides alone). */
export interface OpenDispute {
  id: string;
  iteration: number;
  prompt: string;
  first: string;
  second: string;
  order: ShownOrder;
  offered_at: string;
}

export interface WebSummary {
  iteration: number;
  waiting: number;
  budget_per_iteration: number;
  budget_left: number;
  answered_total: number;
}

export type AnswerResult = { ok: true; label: HumanLabel } | { ok: false; status: 404 | 409; reason: string };

/** One line of labels.jsonl as the web source writes it (QueueFeedback reads `id` and `label`). */
export interface WebLabelRecord {
  id: string;
  label: HumanLabel;
  by: string;
  at: string;
  order: ShownOrder;
  choice: WebChoice;
  source: 'web';
}

export interface WebFeedbackOptions {
  runDir: string;
  waitMs: number;
  budgetPerIteration: number;
  /** Seeds the shown order, so a resumed run shows a dispute the same way. */
  seed: number;
  signal?: AbortSignal;
  logger?: Logger;
}

/** Deterministic per (seed, dispute): about half the disputes show the prior's favourite second. */
export function shownOrder(seed: number, id: string): ShownOrder {
  return (createHash('sha256').update(`${seed}:${id}`).digest()[0]! & 1) === 0 ? 'ab' : 'ba';
}

/** Maps a press on the page back to the (a, b) frame of the dispute. */
export function labelOf(choice: WebChoice, order: ShownOrder): HumanLabel {
  if (choice === 'tie') return 'tie';
  const firstIsA = order === 'ab';
  return (choice === 'first') === firstIsA ? 'a' : 'b';
}

interface Open {
  view: OpenDispute;
  settle: (label: HumanLabel) => void;
}

export class WebFeedback implements HumanFeedback {
  readonly name = 'web labelling page';
  readonly queue: QueueFeedback;
  readonly budgetPerIteration: number;
  private readonly waitMs: number;
  private readonly seed: number;
  private readonly signal: AbortSignal | undefined;
  private readonly log: Logger;
  private readonly open = new Map<string, Open>();
  /** Ids answered in this process (a second answer is refused even after the first was written). */
  private readonly answered = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private state: OracleFeedbackState = { iteration: 0, spentThisIteration: 0, spentTotal: 0 };

  constructor(o: WebFeedbackOptions) {
    if (!Number.isInteger(o.budgetPerIteration) || o.budgetPerIteration < 0)
      throw new Error(`web feedback: budget must be an integer ≥ 0, got ${o.budgetPerIteration}`);
    // The queue never polls here (label() is ours); it writes disputes.jsonl and reads labels.jsonl.
    this.queue = new QueueFeedback({ runDir: o.runDir, waitMs: 0, logger: o.logger });
    this.budgetPerIteration = o.budgetPerIteration;
    this.waitMs = o.waitMs;
    this.seed = o.seed;
    this.signal = o.signal;
    this.log = o.logger ?? makeLogger('web-feedback');
  }

  /** Called on every change (new disputes, an answer, a closed wait); returns the unsubscribe. */
  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private changed(): void {
    for (const f of this.listeners) {
      try {
        f();
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'web feedback listener failed');
      }
    }
  }

  beginIteration(iteration: number): void {
    this.state = { ...this.state, iteration, spentThisIteration: 0 };
    this.changed();
  }

  getState(): OracleFeedbackState {
    return { ...this.state };
  }

  setState(s: OracleFeedbackState): void {
    this.state = { ...s };
  }

  openDisputes(): OpenDispute[] {
    return [...this.open.values()].map((o) => o.view);
  }

  summary(): WebSummary {
    return {
      iteration: this.state.iteration,
      waiting: this.open.size,
      budget_per_iteration: this.budgetPerIteration,
      // Labels this mini-batch may still take (the waiting disputes are what they would go to).
      budget_left: Math.max(0, this.budgetPerIteration - this.state.spentThisIteration),
      answered_total: this.state.spentTotal,
    };
  }

  /** Records an answer from the page; the first answer of an open dispute wins. */
  async answer(id: string, choice: WebChoice, by: string): Promise<AnswerResult> {
    const o = this.open.get(id);
    if (!o) {
      return this.answered.has(id)
        ? { ok: false, status: 409, reason: 'this dispute was already answered' }
        : { ok: false, status: 404, reason: 'no such open dispute (unknown, or its wait is over)' };
    }
    // Taken before the first await, so a concurrent second answer sees it gone.
    this.open.delete(id);
    this.answered.add(id);
    const label = labelOf(choice, o.view.order);
    const record: WebLabelRecord = {
      id,
      label,
      by,
      at: new Date().toISOString(),
      order: o.view.order,
      choice,
      source: 'web',
    };
    try {
      await appendJsonl(this.queue.labelsFile, record);
    } catch (e) {
      // Not recorded: give the dispute back so someone can answer it again.
      this.open.set(id, o);
      this.answered.delete(id);
      throw e;
    }
    o.settle(label);
    this.changed();
    return { ok: true, label };
  }

  async label(disputes: readonly Dispute[]): Promise<Map<string, HumanLabel | undefined>> {
    const out = new Map<string, HumanLabel | undefined>();
    if (disputes.length === 0) return out;
    await this.queue.enqueue(disputes);
    // Labels already in labels.jsonl (a resumed run, or written by hand) resolve at once.
    const known = await this.queue.readLabels(true);
    const unique = [...new Map(disputes.map((d) => [d.id, d])).values()];
    const toOffer: Dispute[] = [];
    for (const d of unique) {
      const l = known.get(d.id);
      if (l !== undefined) {
        out.set(d.id, l);
        this.answered.add(d.id);
      } else if (this.state.spentThisIteration + toOffer.length < this.budgetPerIteration) toOffer.push(d);
      else out.set(d.id, undefined);
    }
    const waits = toOffer.map(
      (d) =>
        new Promise<void>((resolve) => {
          const order = shownOrder(this.seed, d.id);
          const [first, second] = order === 'ab' ? [d.a.text, d.b.text] : [d.b.text, d.a.text];
          this.open.set(d.id, {
            view: {
              id: d.id,
              iteration: this.state.iteration,
              prompt: d.prompt,
              first,
              second,
              order,
              offered_at: new Date().toISOString(),
            },
            settle: (label) => {
              out.set(d.id, label);
              this.state.spentThisIteration++;
              this.state.spentTotal++;
              resolve();
            },
          });
        }),
    );
    if (toOffer.length > 0) {
      this.log.info(
        { offered: toOffer.length, disputes: unique.length, waitMs: this.waitMs },
        `${toOffer.length} dispute(s) open on the labelling page for up to ${(this.waitMs / 1000).toFixed(0)} s`,
      );
      this.changed();
      await this.until(Promise.all(waits));
    }
    let unanswered = 0;
    for (const d of toOffer) {
      if (this.open.delete(d.id)) {
        out.set(d.id, undefined);
        unanswered++;
      }
    }
    if (unanswered > 0) {
      this.log.info({ unanswered }, `${unanswered} dispute(s) unanswered; the fallback applies`);
      this.changed();
    }
    return out;
  }

  /** Resolves when `p` does, `waitMs` passes, or the signal aborts. */
  private until(p: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, this.waitMs);
      this.signal?.addEventListener('abort', done, { once: true });
      void p.then(done);
    });
  }
}
