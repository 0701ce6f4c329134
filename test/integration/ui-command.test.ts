// `tso ui RUN_DIR` as a process: serves a finished run's files read-only (state, steps, iterations,
// nodes, pairs, labels), needs the token it prints, refuses answers, and stops on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
let child: ChildProcess;
let link = '';
let stderr = '';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const step = (s: number, loss: number) => ({
  step: s,
  iteration: s < 2 ? 0 : 1,
  loss,
  metrics: { rewardAccuracy: 0.5, margin: 0.1, chosenReward: 0.1, rejectedReward: -0.1 },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tso-ui-cmd-'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ run_id: 'old', created_at: '2026-01-01T00:00:00Z' }));
  writeFileSync(
    join(dir, 'report.json'),
    JSON.stringify({
      run_id: 'old',
      iterations: 2,
      wall_s: 12.5,
      human_source: 'web labelling page, budget 3/iteration',
      nodes: [
        {
          id: 'gen-a',
          role: 'generator',
          model: 'large',
          tier: 1,
          backend: 'wasm',
          lost: true,
          lost_reason: 'killed',
        },
      ],
    }),
  );
  writeFileSync(join(dir, 'steps.jsonl'), jsonl([step(0, 0.7), step(1, 0.6), step(2, 0.5), step(3, 0.4)]));
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    jsonl([
      { iteration: 0, phase: 'initial', gold_reward: 0.4, exact_match: 0.2 },
      { iteration: 1, phase: 'minibatch', gold_reward: 0.45, diagnostics: { disputes: 5, human_labels: 3 } },
      { iteration: 2, phase: 'minibatch', gold_reward: 0.5, correction: { priorAiAgreement: 0.8 } },
    ]),
  );
  writeFileSync(
    join(dir, 'pairs.jsonl'),
    jsonl([{ prompt: 'p', chosen: 'a', rejected: 'b', lineage: { iteration: 1 } }]),
  );
  writeFileSync(
    join(dir, 'labels.jsonl'),
    jsonl([{ id: 'd1', label: 'a', by: 'ana', at: '2026-01-01T00:00:01Z' }]),
  );
  child = spawn(process.execPath, ['bin/tso.js', 'ui', dir, '--ui', '127.0.0.1:0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  for (let i = 0; i < 600 && !/read-only: (\S+)/.test(stderr); i++)
    await new Promise((r) => setTimeout(r, 100));
  link = /read-only: (\S+)/.exec(stderr)?.[1] ?? '';
}, 120_000);

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('tso ui RUN_DIR', () => {
  it('prints a link with the token and serves the run read-only', async () => {
    expect(link, stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const token = new URL(link).searchParams.get('token')!;
    const base = new URL('/', link).href;
    const headers = { authorization: `Bearer ${token}` };
    expect((await fetch(base + 'api/state')).status).toBe(401);
    const state = (await (await fetch(base + 'api/state', { headers })).json()) as {
      run: { run_id: string; live: boolean; state: string; minibatch: number; of: number };
      steps: { loss: number }[];
      iterations: { iteration: number; disputes: number | null; prior_ai_agreement: number | null }[];
      nodes: { id: string; lost: boolean; lost_reason?: string }[];
    };
    expect(state.run).toMatchObject({ run_id: 'old', live: false, state: 'done', minibatch: 2, of: 2 });
    expect(state.steps.map((s) => s.loss)).toEqual([0.7, 0.6, 0.5, 0.4]);
    expect(state.iterations.map((i) => i.iteration)).toEqual([0, 1, 2]);
    expect(state.iterations[1]!.disputes).toBe(5);
    expect(state.iterations[2]!.prior_ai_agreement).toBe(0.8);
    expect(state.nodes).toEqual([
      expect.objectContaining({ id: 'gen-a', lost: true, lost_reason: 'killed' }),
    ]);
    const pairs = (await (await fetch(base + 'api/pairs?iteration=1', { headers })).json()) as {
      matched: number;
    };
    expect(pairs.matched).toBe(1);
    const labels = (await (await fetch(base + 'api/disputes', { headers })).json()) as {
      live: boolean;
      recent: { by: string }[];
    };
    expect(labels).toMatchObject({ live: false, recent: [{ by: 'ana' }] });
    const post = await fetch(base + 'api/disputes/d1', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ choice: 'first', by: 'x' }),
    });
    expect(post.status).toBe(403);
    const metrics = await (await fetch(base + 'metrics', { headers })).text();
    expect(metrics).toMatch(/^tso_heldout\{metric="gold_reward",run="old"\} 0.5$/m);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
