// The `web` human-feedback source: answers resolve the waiting loop at once and land in labels.jsonl in
// the queue's format (so a resume, or QueueFeedback, reads them), a dispute is answered once, the
// shown order maps back to (a, b), the budget caps what is offered, and unanswered disputes time out.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispute } from '../../src/tso/human-feedback.js';
import { QueueFeedback } from '../../src/tso/queue-feedback.js';
import { labelOf, shownOrder, WebFeedback } from '../../src/tso/web-feedback.js';

let root: string;
let n = 0;
const freshDir = () => path.join(root, `run-${n++}`);
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tso-web-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function dispute(i: number): Dispute {
  return {
    id: `p${i}:c${i}a|c${i}b`,
    promptId: `p${i}`,
    prompt: `sort: ${i} 1`,
    a: { id: `c${i}a`, text: `A${i}`, tier: 1, source: 'generator' },
    b: { id: `c${i}b`, text: `B${i}`, tier: 3, source: 'generator' },
    ai: { winner: 'b', confidence: 0.9 },
  };
}

/** Waits until the source has opened `k` disputes. */
async function opened(w: WebFeedback, k: number): Promise<void> {
  for (let i = 0; i < 500 && w.openDisputes().length < k; i++) await new Promise((r) => setTimeout(r, 10));
  expect(w.openDisputes()).toHaveLength(k);
}

describe('web feedback', () => {
  it('maps the shown order back to the (a, b) frame', () => {
    expect(labelOf('first', 'ab')).toBe('a');
    expect(labelOf('second', 'ab')).toBe('b');
    expect(labelOf('first', 'ba')).toBe('b');
    expect(labelOf('second', 'ba')).toBe('a');
    expect(labelOf('tie', 'ba')).toBe('tie');
    const orders = Array.from({ length: 200 }, (_, i) => shownOrder(7, `d${i}`));
    expect(orders.filter((o) => o === 'ab').length).toBeGreaterThan(60);
    expect(orders.filter((o) => o === 'ba').length).toBeGreaterThan(60);
    expect(shownOrder(7, 'd1')).toBe(shownOrder(7, 'd1'));
  });

  it('resolves on answers at once, refuses a second answer, writes labels.jsonl in the queue format', async () => {
    const runDir = freshDir();
    const w = new WebFeedback({ runDir, waitMs: 60_000, budgetPerIteration: 10, seed: 1 });
    const t0 = Date.now();
    const pending = w.label([dispute(1), dispute(2)]);
    await opened(w, 2);
    const [d1, d2] = w.openDisputes();
    expect(d1!.first).toBe(d1!.order === 'ab' ? 'A1' : 'B1');
    const r1 = await w.answer(d1!.id, 'first', 'ana');
    expect(r1).toEqual({ ok: true, label: d1!.order === 'ab' ? 'a' : 'b' });
    expect(await w.answer(d1!.id, 'second', 'bob')).toMatchObject({ ok: false, status: 409 });
    expect(await w.answer('nope', 'tie', 'bob')).toMatchObject({ ok: false, status: 404 });
    expect(w.summary()).toMatchObject({ waiting: 1, budget_left: 9 });
    await w.answer(d2!.id, 'tie', 'bob');
    const labels = await pending;
    expect(Date.now() - t0).toBeLessThan(50_000); // did not wait out the 60 s
    expect(labels.get(d1!.id)).toBe(r1.ok ? r1.label : undefined);
    expect(labels.get(d2!.id)).toBe('tie');
    const lines = (await readFile(path.join(runDir, 'labels.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { id: d1!.id, by: 'ana', order: d1!.order, choice: 'first', source: 'web' },
      { id: d2!.id, label: 'tie', by: 'bob' },
    ]);
    // One source of truth: the queue reads the same file.
    const q = new QueueFeedback({ runDir, waitMs: 0 });
    expect((await q.readLabels(true)).get(d2!.id)).toBe('tie');
    expect((await readFile(path.join(runDir, 'disputes.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2);
    expect(w.getState()).toMatchObject({ spentThisIteration: 2, spentTotal: 2 });
  });

  it('offers at most the budget, and unanswered disputes follow the fallback after the wait', async () => {
    const w = new WebFeedback({ runDir: freshDir(), waitMs: 300, budgetPerIteration: 2, seed: 1 });
    w.beginIteration(3);
    const labels = await w.label([dispute(1), dispute(2), dispute(3)]);
    expect([...labels.values()]).toEqual([undefined, undefined, undefined]);
    expect(w.openDisputes()).toHaveLength(0);
    expect(w.summary()).toMatchObject({ iteration: 3, waiting: 0, budget_left: 2 });
  });

  it('takes labels already in labels.jsonl at once (a resumed run)', async () => {
    const runDir = freshDir();
    const w = new WebFeedback({ runDir, waitMs: 60_000, budgetPerIteration: 5, seed: 1 });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(runDir, { recursive: true });
    await writeFile(
      path.join(runDir, 'labels.jsonl'),
      JSON.stringify({ id: dispute(4).id, label: 'b' }) + '\n',
    );
    const labels = await w.label([dispute(4)]);
    expect(labels.get(dispute(4).id)).toBe('b');
    expect(await w.answer(dispute(4).id, 'first', 'x')).toMatchObject({ ok: false, status: 409 });
  });
});
