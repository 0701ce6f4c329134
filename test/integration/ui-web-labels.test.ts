// Issue 11 end to end: a real cluster (own nats-server, every node a process) with
// `human: { source: web }`. A labeller answers the disputes over HTTP while the run waits for them;
// the answers must come back in pairs.jsonl as human decisions and in labels.jsonl with who answered.
// Requests without the run's token get 401; /metrics carries the documented names and its step
// counter grows during the run.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { readJsonl, runClusterLogged, tail, type ClusterRunResult } from '../helpers/cluster-run.js';

interface Open {
  id: string;
  prompt: string;
  first: string;
  second: string;
  order: 'ab' | 'ba';
}
interface Answered {
  open: Open;
  choice: 'first' | 'second';
  status: number;
  second_status?: number;
}
interface PairRow {
  prompt: string;
  chosen: string;
  rejected: string;
  decided_by: string;
  lineage: { human_label?: string | null };
}

let fx: Fixture;
let run: ClusterRunResult;
let base = '';
let token = '';
const answered: Answered[] = [];
const stepCounts: number[] = [];
let metricsText = '';
const unauthorized: number[] = [];
let labellerError: unknown;
/** gen-a serves node metrics (node config `metrics`): its address and the served-RPC counts seen. */
let nodeMetricsUrl = '';
let nodeMetricsText = '';
const nodeRpcCounts: number[] = [];

const auth = () => ({ authorization: `Bearer ${token}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers every open dispute (first / second alternately; one of them twice) and scrapes /metrics. */
async function labeller(stop: () => boolean): Promise<void> {
  // Without the token: the pages, the API, an answer and the metrics are all refused.
  for (const [path, init] of [
    ['/', {}],
    ['/api/state', {}],
    ['/metrics', {}],
    ['/api/disputes/x', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
    ['/api/state', { headers: { authorization: 'Bearer wrong-token-of-the-same-kind' } }],
  ] as const) {
    unauthorized.push((await fetch(base + path, init)).status);
  }
  // The coordinator closes the server when the run ends, possibly mid-round or mid-request: a refused
  // or closed connection then ends the labeller (any other failure is the test's; a coordinator that
  // died instead of finishing fails the run's exit code).
  const GONE = ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'];
  const refused = (e: unknown) => GONE.includes((e as { cause?: { code?: string } }).cause?.code ?? '');
  while (!stop()) {
    try {
      await round();
    } catch (e) {
      if (refused(e)) return;
      throw e;
    }
    await sleep(300);
  }
}

async function round(): Promise<void> {
  {
    const m = await fetch(`${base}/metrics`, { headers: auth() });
    metricsText = await m.text();
    const steps = /^tso_steps_total\{[^}]*\} (\d+)/m.exec(metricsText);
    if (steps) stepCounts.push(Number(steps[1]));
    if (nodeMetricsUrl) {
      nodeMetricsText = await (await fetch(nodeMetricsUrl)).text();
      const counts = [...nodeMetricsText.matchAll(/^tso_node_rpc_duration_seconds_count\{[^}]*\} (\d+)/gm)];
      nodeRpcCounts.push(counts.reduce((a, m) => a + Number(m[1]), 0));
    }
    const r = await fetch(`${base}/api/disputes`, { headers: auth() });
    const body = (await r.json()) as { open: Open[] };
    for (const d of body.open) {
      const choice = answered.length % 2 === 0 ? 'first' : 'second';
      const post = () =>
        fetch(`${base}/api/disputes/${encodeURIComponent(d.id)}`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: JSON.stringify({ choice, by: 'itest-labeller' }),
        });
      const a: Answered = { open: d, choice, status: (await post()).status };
      if (answered.length === 0) a.second_status = (await post()).status;
      answered.push(a);
    }
  }
}

describe('web labelling, token and /metrics on a live cluster', () => {
  beforeAll(async () => {
    fx = await makeFixture({
      cluster: 'uiweb',
      nodeExtra: { 'gen-a': { metrics: '127.0.0.1:0' } },
      run: {
        run_id: 'ui-web',
        minibatches: 2,
        correction: {
          mode: 'ai+human',
          threshold: 0.7,
          fallback: 'trust-prior',
          human: { source: 'web', wait_s: 240, budget_per_iteration: 3 },
        },
      },
    });
    let done = false;
    let labelling: Promise<void> | undefined;
    run = await runClusterLogged(fx.clusterConfig, (line) => {
      const nm = /^\[gen-a\] node metrics at (http:\/\/\S+)/.exec(line);
      if (nm) nodeMetricsUrl = nm[1]!;
      const m = /dashboard: (http:\/\/[^/\s]+)\/\?token=(\S+)/.exec(line);
      if (m && !labelling) {
        base = m[1]!;
        token = m[2]!;
        labelling = labeller(() => done).catch((e: unknown) => {
          labellerError = e;
        });
      }
    });
    done = true;
    await labelling;
    process.stderr.write(
      `[ui-web-labels] answered ${answered.length} disputes; tso_steps_total scraped ${stepCounts.join(' ')}; gen-a served RPCs ${nodeRpcCounts.join(' ')}\n`,
    );
  }, 600_000);

  afterAll(() => {
    if (fx) rmSync(fx.root, { recursive: true, force: true });
  });

  it('runs to the end with the dashboard link printed', () => {
    expect(run.code, tail(run.lines)).toBe(0);
    expect(labellerError).toBeUndefined();
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses every request without the right token (401)', () => {
    expect(unauthorized).toEqual([401, 401, 401, 401, 401]);
  });

  it('takes each answer once (a second answer is 409) and trains on them as human decisions', () => {
    expect(answered.length).toBeGreaterThanOrEqual(2);
    expect(answered.every((a) => a.status === 200)).toBe(true);
    expect(answered[0]!.second_status).toBe(409);
    const pairs = readJsonl<PairRow>(fx.runDir, 'pairs.jsonl');
    for (const a of answered) {
      const [shownChosen, shownRejected] =
        a.choice === 'first' ? [a.open.first, a.open.second] : [a.open.second, a.open.first];
      const row = pairs.find(
        (p) => p.prompt === a.open.prompt && p.chosen === shownChosen && p.rejected === shownRejected,
      );
      expect(row, `pair for dispute ${a.open.id}`).toBeDefined();
      expect(row!.decided_by).toBe('human');
      expect(row!.lineage.human_label).toBe('chosen');
    }
    const labels = readJsonl<{ id: string; by: string; at: string; source: string }>(
      fx.runDir,
      'labels.jsonl',
    );
    expect(labels.map((l) => l.id).sort()).toEqual(answered.map((a) => a.open.id).sort());
    expect(
      labels.every((l) => l.by === 'itest-labeller' && l.source === 'web' && !isNaN(Date.parse(l.at))),
    ).toBe(true);
  });

  it('serves /metrics with the documented names and a growing step counter', () => {
    for (const name of [
      'tso_steps_total',
      'tso_loss',
      'tso_reward_accuracy',
      'tso_step_duration_seconds_bucket',
      'tso_phase_duration_seconds_bucket',
      'tso_minibatch',
      'tso_nodes',
      'tso_nodes_lost',
      'tso_disputes_waiting',
      'tso_human_labels_total',
      'tso_disputes_total',
      'tso_heldout',
    ])
      expect(metricsText).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    expect(stepCounts.length).toBeGreaterThan(1);
    for (let i = 1; i < stepCounts.length; i++)
      expect(stepCounts[i]!).toBeGreaterThanOrEqual(stepCounts[i - 1]!);
    expect(stepCounts.at(-1)!).toBeGreaterThan(stepCounts[0]!);
  });

  it("serves a node's /metrics during the run: its documented names and a growing RPC count", () => {
    expect(nodeMetricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    for (const name of [
      'tso_node_info',
      'tso_node_rpc_duration_seconds_bucket',
      'tso_node_rpc_duration_seconds_count',
      'tso_process_process_cpu_seconds_total',
    ])
      expect(nodeMetricsText).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    expect(nodeMetricsText).toMatch(/^# TYPE tso_node_rpc_errors_total counter/m);
    expect(nodeMetricsText).toMatch(/node="gen-a"/);
    expect(nodeRpcCounts.length).toBeGreaterThan(1);
    for (let i = 1; i < nodeRpcCounts.length; i++)
      expect(nodeRpcCounts[i]!).toBeGreaterThanOrEqual(nodeRpcCounts[i - 1]!);
    expect(nodeRpcCounts.at(-1)!).toBeGreaterThan(nodeRpcCounts[0]!);
  });
});
