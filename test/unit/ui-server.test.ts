// The UI server on its own (no cluster): the token guards every route, the link's token becomes a
// cookie, bad input is a 4xx and the server keeps serving, answers go to the web source once, the pairs
// browser filters pairs.jsonl, SSE sends a snapshot then deltas, and /metrics follows the store.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunMetrics } from '../../src/metrics/run-metrics.js';
import type { Dispute } from '../../src/tso/human-feedback.js';
import { WebFeedback } from '../../src/tso/web-feedback.js';
import { parseHostPort } from '../../src/ui/http-io.js';
import { matchesPair, parsePairsFilter, type PairsFilter } from '../../src/ui/pairs-query.js';
import { RunStore } from '../../src/ui/run-store.js';
import { startUiServer, type UiServer } from '../../src/ui/ui-server.js';
import { rootLogger } from '../../src/util/log.js';

let dir: string;
let server: UiServer;
let store: RunStore;
let web: WebFeedback;
let labelling: Promise<Map<string, unknown>>;
const auth = () => ({ authorization: `Bearer ${server.token}` });

const pair = (iteration: number, decided_by: string, disputed: boolean, model: string) => ({
  prompt: `p${iteration}`,
  chosen: 'x',
  rejected: 'y',
  decided_by,
  lineage: {
    iteration,
    chosen: { source: 'generator', model },
    rejected: { source: 'policy' },
    ...(disputed ? { human_label: decided_by === 'human' ? 'chosen' : null } : {}),
  },
});

const dispute: Dispute = {
  id: 'p1:c1|c2',
  promptId: 'p1',
  prompt: 'sort: 2 1',
  a: { id: 'c1', text: '1 2', tier: 1, source: 'generator' },
  b: { id: 'c2', text: '2 1', tier: 2, source: 'generator' },
  ai: { winner: 'b', confidence: 0.8 },
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tso-ui-'));
  const rows = [
    pair(1, 'ai', false, 'gen-a'),
    pair(1, 'human', true, 'gen-b'),
    pair(2, 'fallback-prior', true, 'gen-a'),
  ];
  await writeFile(path.join(dir, 'pairs.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"torn');
  store = new RunStore({ run_id: 'unit', of: 2, live: true, human_source: 'web' });
  web = new WebFeedback({ runDir: dir, waitMs: 120_000, budgetPerIteration: 4, seed: 0 });
  server = await startUiServer({
    host: '127.0.0.1',
    port: 0,
    store,
    runDir: dir,
    web,
    metrics: new RunMetrics(store),
    log: rootLogger,
  });
  labelling = web.label([dispute]);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ui server', () => {
  it('needs the token everywhere; the link trades it for a cookie', async () => {
    for (const p of ['/', '/label', '/api/state', '/api/pairs', '/metrics', '/static/style.css'])
      expect((await fetch(server.url + p.slice(1))).status, p).toBe(401);
    expect(
      (await fetch(server.url + 'api/state', { headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(401);
    const link = await fetch(server.link, { redirect: 'manual' });
    expect(link.status).toBe(303);
    expect(link.headers.get('location')).toBe('/');
    const cookie = link.headers.get('set-cookie')!.split(';')[0]!;
    expect(link.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    const page = await fetch(server.url, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/static/dashboard.js');
    expect((await fetch(server.url + 'static/uPlot.iife.min.js', { headers: auth() })).status).toBe(200);
    expect((await fetch(server.url + 'static/..%2Fui-server.ts', { headers: auth() })).status).toBe(404);
  });

  it('answers a dispute once; bad bodies are 4xx and the server keeps serving', async () => {
    const open = (await (await fetch(server.url + 'api/disputes', { headers: auth() })).json()) as {
      open: { id: string; order: string }[];
    };
    expect(open.open.map((d) => d.id)).toEqual([dispute.id]);
    const url = server.url + 'api/disputes/' + encodeURIComponent(dispute.id);
    const post = (body: string, type = 'application/json') =>
      fetch(url, { method: 'POST', headers: { ...auth(), 'content-type': type }, body });
    expect((await post('{"choice":"first","by":"a"}', 'text/plain')).status).toBe(415);
    expect((await post('{not json')).status).toBe(400);
    expect((await post(JSON.stringify({ choice: 'first', by: 'x'.repeat(10_000) }))).status).toBe(413);
    expect((await post(JSON.stringify({ choice: 'left', by: 'ana' }))).status).toBe(400);
    expect((await post(JSON.stringify({ choice: 'first', by: '' }))).status).toBe(400);
    const bad = await fetch(server.url + 'api/disputes/%E0%A4%A', { method: 'POST', headers: auth() });
    expect(bad.status).toBe(400);
    const ok = await post(JSON.stringify({ choice: 'first', by: 'ana' }));
    expect(ok.status).toBe(200);
    const expected = open.open[0]!.order === 'ab' ? 'a' : 'b';
    expect(((await ok.json()) as { label: string }).label).toBe(expected);
    expect((await post(JSON.stringify({ choice: 'second', by: 'bob' }))).status).toBe(409);
    expect((await labelling).get(dispute.id)).toBe(expected);
    expect((await fetch(server.url + 'api/state', { headers: auth() })).status).toBe(200);
  });

  it('filters and pages pairs.jsonl', async () => {
    const get = async (q: string) =>
      (await (await fetch(`${server.url}api/pairs?${q}`, { headers: auth() })).json()) as {
        matched: number;
        rows: unknown[];
      };
    expect((await get('')).matched).toBe(3);
    expect((await get('iteration=1')).matched).toBe(2);
    expect((await get('decided_by=human')).matched).toBe(1);
    expect((await get('disputed=true')).matched).toBe(2);
    expect((await get('disputed=false&source=gen-a')).matched).toBe(1);
    expect((await get('source=policy&limit=1')).rows).toHaveLength(1);
    expect((await fetch(`${server.url}api/pairs?limit=100000`, { headers: auth() })).status).toBe(400);
    const f = parsePairsFilter(new URLSearchParams('iteration=2')) as PairsFilter;
    expect(matchesPair(pair(2, 'ai', false, 'm'), f)).toBe(true);
    expect(matchesPair(pair(1, 'ai', false, 'm'), f)).toBe(false);
  });

  it('streams a snapshot, then steps; /metrics counts them', async () => {
    const ctrl = new AbortController();
    const res = await fetch(server.url + 'api/events', { headers: auth(), signal: ctrl.signal });
    const reader = res.body!.getReader();
    let text = '';
    const until = async (s: string) => {
      while (!text.includes(s)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await until('event: snapshot');
    const point = {
      step: 0,
      iteration: 0,
      loss: 0.69,
      reward_accuracy: 0.5,
      margin: 0,
      chosen_reward: 0,
      rejected_reward: 0,
      clipped_chosen: 0,
      clipped_rejected: 0,
    };
    store.addStep(point);
    store.addStep({ ...point, step: 1, loss: 0.5 });
    await until('"loss":0.5');
    ctrl.abort();
    const metrics = await (await fetch(server.url + 'metrics', { headers: auth() })).text();
    expect(metrics).toMatch(/^tso_steps_total\{run="unit"\} 2$/m);
    expect(metrics).toMatch(/^tso_loss\{run="unit"\} 0.5$/m);
  });

  it('parses HOST:PORT', () => {
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(() => parseHostPort('localhost')).toThrow(/HOST:PORT/);
    expect(() => parseHostPort('h:70000')).toThrow(/HOST:PORT/);
  });
});
