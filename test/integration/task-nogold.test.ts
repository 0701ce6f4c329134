// A JSONL task without answers: it runs and is evaluated by the judge's win rate against the initial
// policy; the oracle (which needs gold) is refused when the config loads, naming the key; a prompt
// longer than a model's context is a file:line error, or skipped and counted with `too_long: skip`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { runLocal } from '../../src/cluster/local-run.js';
import { modelContexts } from '../../src/cluster/model-contexts.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import type { Judge, Verdict } from '../../src/judges/types.js';
import { RunDir } from '../../src/tso/loop/run-dir.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';
import { prepareData } from '../../src/tso/loop/session.js';
import { makeFixture, TINY, type Fixture } from '../helpers/cluster-fixture.js';
import { toyRows, writeRows } from '../helpers/toy-task.js';
import { runTsoCommand } from '../helpers/tso-process.js';

/** Prefers the upper-case response (ties otherwise), and records what it was asked. */
class RecordingJudge implements Judge {
  readonly name = 'recording';
  readonly prompts = new Set<string>();
  compare(prompt: string, a: string, b: string): Promise<Verdict> {
    this.prompts.add(prompt);
    const up = (s: string) => s.replace(/[^A-Z]/g, '').length;
    const winner = up(a) > up(b) ? 'a' : up(b) > up(a) ? 'b' : 'tie';
    return Promise.resolve({ winner, confidence: winner === 'tie' ? 0.5 : 0.9 });
  }
}

describe('a JSONL task without gold', () => {
  let fx: Fixture;
  let train: string;
  let held: string;

  beforeAll(async () => {
    fx = await makeFixture({ policies: 1, generators: [{ id: 'gen-a', tier: 1, seed: 11 }] });
    train = writeRows(fx.root, 'free-train.jsonl', toyRows('free-train', 16, { answers: false }));
    held = writeRows(fx.root, 'free-heldout.jsonl', toyRows('free-held', 8, { answers: false }));
  });

  const runCfg = (extra: Record<string, unknown> = {}) =>
    RunConfigSchema.parse({
      run_id: 'free',
      seed: 1,
      task: { kind: 'jsonl', train, heldout: held, ...extra },
      minibatches: 1,
      minibatch_prompts: 6,
      epochs: 1,
      train_batch_pairs: 8,
      policy_samples: 1,
      sampling: { temperature: 1, top_k: 0, top_p: 1, max_new_tokens: 6 },
      correction: { mode: 'ai+human', human: { source: 'none' } },
      eval: { max_new_tokens: 6 },
    });

  it('runs and is evaluated by the judge win rate against the initial policy', async () => {
    const cfg = await loadConfigFile(fx.clusterConfig, ClusterConfigSchema);
    const judge = new RecordingJudge();
    const report = await runLocal(cfg, { runDir: join(fx.root, 'free-run'), run: runCfg(), judge });
    expect(report.final.exact_match).toBeUndefined();
    expect(report.final.gold_reward).toBeUndefined();
    expect(report.final.judge_win_rate_vs_initial).toBeGreaterThanOrEqual(0);
    expect(report.final.judge_win_rate_vs_initial).toBeLessThanOrEqual(1);
    expect(report.final.n).toBe(8);
    expect(report.final.mean_length).toBeGreaterThanOrEqual(0);
    expect(report.task).toMatchObject({ kind: 'jsonl', gold: false, heldout_prompts: 8 });
    // The judge saw the held-out prompts (evaluation), not only training pairs.
    const heldPrompts = readFileSync(held, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { prompt: string }).prompt);
    const asked = heldPrompts.filter((p) => judge.prompts.has(p)).length;
    expect(asked).toBeGreaterThan(0);
  }, 300_000);

  it('refuses correction.human.source: oracle when the config is loaded, naming the key', async () => {
    const cfg = parse(readFileSync(fx.clusterConfig, 'utf8')) as { run: Record<string, unknown> };
    cfg.run = { ...cfg.run, task: { kind: 'jsonl', train, heldout: held, gold: 'none' } };
    const bad = join(fx.root, 'oracle-no-gold.yaml');
    writeFileSync(bad, stringify(cfg));
    const r = await runTsoCommand(['cluster', '--config', bad, '--run-dir', join(fx.root, 'never')], 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/run\.correction\.human\.source: .*oracle.*gold/);
  }, 90_000);

  it('reports a prompt longer than a model context as file:line, or skips and counts it', async () => {
    const rows = toyRows('long', 4, { answers: false });
    rows[2] = { ...rows[2], prompt: `copy: ${'x'.repeat(60)}` };
    const long = writeRows(fx.root, 'long-train.jsonl', rows);
    const cfg = await loadConfigFile(fx.clusterConfig, ClusterConfigSchema);
    const contexts = await modelContexts(cfg.policy_init, cfg.nodes);
    expect(contexts.map((c) => c.blockSize)).toContain(TINY.blockSize);
    const withLong = (too_long: 'error' | 'skip') => ({
      ...runCfg(),
      task: { kind: 'jsonl' as const, train: long, heldout: held, gold: 'none' as const, too_long },
    });
    const dir = new RunDir(join(fx.root, 'long-run'));
    const tokens = 1 + 'copy: '.length + 60 + 1;
    await expect(prepareData(withLong('error'), dir, contexts)).rejects.toThrow(
      `${long}:3: prompt is ${tokens} tokens, model policy has context ${TINY.blockSize}`,
    );
    const data = await prepareData(withLong('skip'), dir, contexts);
    expect(data.train).toHaveLength(3);
    expect(data.summary.skipped_too_long).toBe(1);
    // Through the CLI: `tso cluster` refuses it before starting any process.
    const cluster = parse(readFileSync(fx.clusterConfig, 'utf8')) as { run: Record<string, unknown> };
    cluster.run = { ...cluster.run, task: withLong('error').task, correction: { human: { source: 'none' } } };
    const file = join(fx.root, 'too-long.yaml');
    writeFileSync(file, stringify(cluster));
    const r = await runTsoCommand(
      ['cluster', '--config', file, '--run-dir', join(fx.root, 'never-long')],
      60_000,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `${long}:3: prompt is ${tokens} tokens, model policy has context ${TINY.blockSize}`,
    );
    expect(r.stdout).not.toMatch(/started nats-server/);
  }, 90_000);
});
