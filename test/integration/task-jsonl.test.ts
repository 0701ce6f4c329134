// A task the project has never seen (two JSONL files written here: copy / upper-case a word) run end to
// end: `tso cluster` (real processes) evaluates on the held-out file, per category; `tso export` writes
// both TRL shapes; `tso ablate` runs on it; the oracle without gold is refused when the config loads.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { readJson, readJsonl, runClusterLogged, tail } from '../helpers/cluster-run.js';
import { toyRows, writeRows, type ToyRow } from '../helpers/toy-task.js';
import { runTsoCommand } from '../helpers/tso-process.js';

interface HeldoutJson {
  n: number;
  exact_match?: number;
  gold_reward?: number;
  by_category?: Record<string, { n: number; exact_match: number; gold_reward: number }>;
}
interface TaskReport {
  task: { name: string; kind: string; heldout_prompts: number; train_prompts: number; gold: boolean };
  initial: HeldoutJson;
  final: HeldoutJson;
}
interface Pair {
  id?: string;
  prompt: string;
  chosen: string;
  rejected: string;
  lineage?: { chosen: { source: string }; rejected: { source: string } };
}

const GENERATORS = [
  { id: 'gen-a', tier: 1, seed: 11 },
  { id: 'gen-b', tier: 2, seed: 12 },
];
const RUN = {
  run_id: 'toy',
  minibatches: 2,
  minibatch_prompts: 6,
  epochs: 1,
  train_batch_pairs: 8,
};

describe('a JSONL task (copy / upper) through tso cluster, export and ablate', () => {
  let fx: Fixture;
  let heldout: ToyRow[];

  beforeAll(async () => {
    fx = await makeFixture({ policies: 1, generators: GENERATORS });
    const train = writeRows(
      fx.root,
      'toy-train.jsonl',
      toyRows('train', 32, { answers: true, human: true, conversational: true }),
    );
    heldout = toyRows('heldout', 12, { answers: true });
    const held = writeRows(fx.root, 'toy-heldout.jsonl', heldout);
    const cfg = parse(readFileSync(fx.clusterConfig, 'utf8')) as { run: Record<string, unknown> };
    cfg.run = { ...cfg.run, ...RUN, task: { kind: 'jsonl', train, heldout: held, gold: 'exact' } };
    writeFileSync(fx.clusterConfig, stringify(cfg));
  });

  it('runs with tso cluster and reports held-out metrics on the held-out file, per category', async () => {
    const run = await runClusterLogged(fx.clusterConfig);
    expect(run.code, tail(run.lines)).toBe(0);
    const report = readJson<TaskReport>(fx.runDir, 'report.json');
    expect(report.task).toMatchObject({ name: 'toy-train', kind: 'jsonl', heldout_prompts: 12, gold: true });
    // The evaluated prompts are exactly the held-out file's, in order.
    const evaluated = readJsonl<{ prompt: string; answer: string }>(fx.runDir, 'data/heldout.jsonl');
    expect(evaluated.map((e) => e.prompt)).toEqual(heldout.map((h) => h.prompt));
    for (const m of [report.initial, report.final]) {
      expect(m.n).toBe(12);
      expect(m.exact_match).toBeGreaterThanOrEqual(0);
      expect(m.gold_reward).toBe(m.exact_match); // exact gold is 0 or 1 per prompt
      expect(Object.keys(m.by_category ?? {}).sort()).toEqual(['copy', 'upper']);
      expect(m.by_category?.copy.n).toBe(6);
      expect(m.by_category?.upper.n).toBe(6);
    }
    const pairs = readJsonl<Pair>(fx.runDir, 'pairs.jsonl');
    expect(pairs.length).toBeGreaterThan(0);
    const trainPrompts = new Set(
      readJsonl<{ prompt: string }>(fx.runDir, 'data/train.jsonl').map((r) => r.prompt),
    );
    for (const p of pairs) expect(trainPrompts.has(p.prompt)).toBe(true);
  }, 400_000);

  it('exports the pairs as TRL standard and conversational rows, read back row by row', async () => {
    const pairs = readJsonl<Pair>(fx.runDir, 'pairs.jsonl');
    const std = join(fx.root, 'trl.jsonl');
    const conv = join(fx.root, 'trl-conv.jsonl');
    for (const [format, out] of [
      ['trl', std],
      ['trl-conversational', conv],
    ]) {
      const r = await runTsoCommand(['export', fx.runDir, '--format', format, '--out', out], 60_000);
      expect(r.code, r.stderr).toBe(0);
    }
    const rowsStd = readJsonl<Pair>(fx.root, 'trl.jsonl');
    expect(rowsStd).toHaveLength(pairs.length);
    rowsStd.forEach((row, i) => {
      expect(typeof row.prompt).toBe('string');
      expect({ prompt: row.prompt, chosen: row.chosen, rejected: row.rejected }).toEqual({
        prompt: pairs[i].prompt,
        chosen: pairs[i].chosen,
        rejected: pairs[i].rejected,
      });
      expect(row.lineage).toEqual(pairs[i].lineage);
    });
    type Msg = { role: string; content: string };
    const rowsConv = readJsonl<{ prompt: Msg[]; chosen: Msg[]; rejected: Msg[]; lineage: unknown }>(
      fx.root,
      'trl-conv.jsonl',
    );
    expect(rowsConv).toHaveLength(pairs.length);
    // A conversational task row keeps its conversation (system + user); others are one user message.
    const conversations = new Map(
      readJsonl<{ prompt: string; messages?: Msg[] }>(fx.runDir, 'data/train.jsonl').map((r) => [
        r.prompt,
        r.messages,
      ]),
    );
    let kept = 0;
    rowsConv.forEach((row, i) => {
      const messages = conversations.get(pairs[i].prompt);
      if (messages) kept++;
      expect(row.prompt).toEqual(messages ?? [{ role: 'user', content: pairs[i].prompt }]);
      expect(row.chosen).toEqual([{ role: 'assistant', content: pairs[i].chosen }]);
      expect(row.rejected).toEqual([{ role: 'assistant', content: pairs[i].rejected }]);
      expect(row.lineage).toEqual(pairs[i].lineage);
    });
    expect(kept).toBeGreaterThan(0);
    expect([...conversations.keys()].some((p) => p.startsWith('system: x\nuser: '))).toBe(true);
    // An existing --out is never overwritten without --overwrite.
    const again = await runTsoCommand(['export', fx.runDir, '--format', 'trl', '--out', conv], 60_000);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists; pass --overwrite/);
    expect(readJsonl(fx.root, 'trl-conv.jsonl')).toEqual(rowsConv);
  }, 120_000);

  it('runs tso ablate (2 variants × 1 seed) on the task, with per-category results', async () => {
    const out = join(fx.root, 'ablate');
    const args = ['ablate', '--config', fx.clusterConfig, '--only', 'full,no-scale', '--seeds', '1'];
    const r = await runTsoCommand([...args, '--jobs', '2', '--json', '--out', out], 400_000);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as {
      variants: {
        name: string;
        seeds: { exact_match: number; run_dir: string }[];
        mean: { by_kind: object };
      }[];
    };
    expect(json.variants.map((v) => v.name)).toEqual(['full', 'no-scale']);
    for (const v of json.variants) {
      expect(Object.keys(v.mean.by_kind).sort()).toEqual(['copy', 'upper']);
      for (const s of v.seeds) {
        const held = readJsonl<{ prompt: string }>(s.run_dir, 'data/heldout.jsonl');
        expect(held.map((h) => h.prompt)).toEqual(heldout.map((h) => h.prompt));
      }
    }
    expect(existsSync(join(out, 'ablation.md'))).toBe(true);
  }, 500_000);
});
