// The `queue` human-feedback source: disputes appended once to <runDir>/disputes.jsonl, labels read
// back from <runDir>/labels.jsonl while polling, timeouts leave disputes unresolved, and bad label
// lines are reported and skipped instead of crashing the run.
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispute } from '../../src/tso/human-feedback.js';
import type { Candidate } from '../../src/tso/prior.js';
import { QueueFeedback } from '../../src/tso/queue-feedback.js';
import { rootLogger } from '../../src/util/log.js';

let root: string;
let n = 0;
const freshDir = () => path.join(root, `run-${n++}`);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tso-queue-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cand = (id: string, text: string, tier: number): Candidate => ({
  id,
  text,
  tier,
  source: tier === 0 ? 'human' : 'generator',
});

function dispute(promptId: string, prompt: string, a: string, b: string): Dispute {
  const ca = cand(`${promptId}-a`, a, 1);
  const cb = cand(`${promptId}-b`, b, 3);
  return {
    id: `${promptId}:${ca.id}|${cb.id}`,
    promptId,
    prompt,
    a: ca,
    b: cb,
    ai: { winner: 'b', confidence: 0.9 },
  };
}

const D1 = dispute('p1', 'sort: 4 1 3', '1 3 4', '1 4 3');
const D2 = dispute('p2', 'rev: abc', 'cba', 'cab');
const D3 = dispute('p3', 'add: 2+3', '5', '6');

/** A logger that records error/warn messages. */
function recordingLogger() {
  const messages: string[] = [];
  const log = rootLogger.child({ component: 'test' });
  log.error = ((...args: unknown[]) => {
    messages.push(String(args.find((a) => typeof a === 'string')));
  }) as typeof log.error;
  log.warn = log.error;
  log.info = (() => undefined) as typeof log.info;
  return { log, messages };
}

const lines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('QueueFeedback', () => {
  it('writes each dispute once, also across instances (resume)', async () => {
    const runDir = freshDir();
    const q = new QueueFeedback({ runDir, waitMs: 0 });
    const first = await q.label([D1, D2]);
    expect([...first.entries()]).toEqual([
      [D1.id, undefined],
      [D2.id, undefined],
    ]);
    await q.label([D2, D3, D3]);
    const resumed = new QueueFeedback({ runDir, waitMs: 0 });
    await resumed.label([D1, D3]);
    const written = await lines(q.disputesFile);
    expect(written.map((r) => r.id)).toEqual([D1.id, D2.id, D3.id]);
    expect(written[0]).toMatchObject({
      id: D1.id,
      prompt_id: 'p1',
      prompt: 'sort: 4 1 3',
      a: '1 3 4',
      b: '1 4 3',
      ai: { winner: 'b', confidence: 0.9 },
    });
    expect(q.disputesFile).toBe(path.join(runDir, 'disputes.jsonl'));
  });

  it('picks up labels written while it waits', async () => {
    const runDir = freshDir();
    const q = new QueueFeedback({ runDir, waitMs: 5000, pollMs: 20 });
    const labelsFile = path.join(runDir, 'labels.jsonl');
    await mkdir(runDir, { recursive: true });
    setTimeout(() => void writeFile(labelsFile, `{"id": "${D1.id}", "label": "b"}\n`), 100);
    setTimeout(
      () => void appendFile(labelsFile, `{"id": "${D2.id}", "label": "TIE", "note": "same"}\n`),
      250,
    );
    const t0 = Date.now();
    const out = await q.label([D1, D2]);
    const elapsed = Date.now() - t0;
    expect(out.get(D1.id)).toBe('b');
    expect(out.get(D2.id)).toBe('tie');
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThan(4000);
  });

  it('returns undefined for disputes still unlabelled after waitMs', async () => {
    const runDir = freshDir();
    const q = new QueueFeedback({ runDir, waitMs: 300, pollMs: 50 });
    await q.enqueue([D1]);
    await writeFile(path.join(runDir, 'labels.jsonl'), `{"id": "${D1.id}", "label": "a"}\n`);
    const t0 = Date.now();
    const out = await q.label([D1, D2]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(out.get(D1.id)).toBe('a');
    expect(out.has(D2.id)).toBe(true);
    expect(out.get(D2.id)).toBeUndefined();
  });

  it('reports bad label lines as file:line and keeps going; unknown ids are ignored; last label wins', async () => {
    const runDir = freshDir();
    const { log, messages } = recordingLogger();
    const q = new QueueFeedback({ runDir, waitMs: 200, pollMs: 20, logger: log });
    const labelsFile = path.join(runDir, 'labels.jsonl');
    await q.enqueue([D1, D2, D3]);
    await writeFile(
      labelsFile,
      [
        `{"id": "${D1.id}", "label": "a"}`,
        `{"id": "${D2.id}", "label": "maybe"}`,
        'this is not json',
        `{"id": "nobody", "label": "a"}`,
        `{"label": "b"}`,
        `{"id": "${D1.id}", "label": "b"}`,
        '',
      ].join('\n'),
    );
    const out = await q.label([D1, D2, D3]);
    expect(out.get(D1.id)).toBe('b');
    expect(out.get(D2.id)).toBeUndefined();
    expect(out.get(D3.id)).toBeUndefined();
    // each bad line reported once, although the file was read on every poll
    expect(q.badLabelLines).toBe(3);
    expect(messages.filter((m) => m.includes('bad label line'))).toHaveLength(3);
    expect(messages.some((m) => m.startsWith(`${labelsFile}:2:`) && /label/.test(m))).toBe(true);
    expect(messages.some((m) => m.startsWith(`${labelsFile}:3: `) && /invalid JSON/.test(m))).toBe(true);
    expect(messages.some((m) => m.startsWith(`${labelsFile}:5: `) && /id/.test(m))).toBe(true);
  });

  it('waits for an unterminated last line to be completed', async () => {
    const runDir = freshDir();
    const { log, messages } = recordingLogger();
    const q = new QueueFeedback({ runDir, waitMs: 3000, pollMs: 20, logger: log });
    const labelsFile = path.join(runDir, 'labels.jsonl');
    await q.enqueue([D1]);
    await writeFile(labelsFile, `{"id": "${D1.id}", "lab`);
    setTimeout(() => void appendFile(labelsFile, `el": "a"}\n`), 100);
    const out = await q.label([D1]);
    expect(out.get(D1.id)).toBe('a');
    expect(messages).toEqual([]);
  });

  it('returns at once for no disputes and stops waiting on abort', async () => {
    const runDir = freshDir();
    const ac = new AbortController();
    const q = new QueueFeedback({ runDir, waitMs: 60_000, pollMs: 10_000, signal: ac.signal });
    expect((await q.label([])).size).toBe(0);
    setTimeout(() => ac.abort(), 50);
    const t0 = Date.now();
    const out = await q.label([D1]);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(out.get(D1.id)).toBeUndefined();
    expect(() => new QueueFeedback({ runDir, waitMs: -1 })).toThrow(/waitMs/);
  });
});
