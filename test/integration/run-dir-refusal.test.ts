// A new run never appends to an old one: a second run into the same run dir is refused by every entry
// point (`tso cluster`, `tso coordinator`, `tso demo --run-dir`, runLocal) before it writes anything,
// leaving the first run's files byte-identical; with --overwrite it replaces the old run cleanly.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { runLocal } from '../../src/cluster/local-run.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import { DEFAULT_GENERATORS, makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { readJson, readJsonl, type ReportJson } from '../helpers/cluster-run.js';
import { freePort } from '../helpers/free-port.js';
import { runTsoCommand } from '../helpers/tso-process.js';

let fx: Fixture | undefined;
afterAll(() => {
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

/** path → sha256 of every file under dir. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const f = join(dir, p);
    if (statSync(f).isFile()) out[p] = createHash('sha256').update(readFileSync(f)).digest('hex');
  }
  return out;
}

describe('two runs into the same run dir', () => {
  it('refuses the second everywhere, and --overwrite replaces the first cleanly', async () => {
    const nats = `nats://127.0.0.1:${await freePort()}`; // nothing there: a refusal must come first
    fx = await makeFixture({
      cluster: 'twice',
      policies: 1,
      generators: DEFAULT_GENERATORS.slice(0, 2),
      run: { run_id: 'twice', minibatches: 1, minibatch_prompts: 6, epochs: 1, train_batch_pairs: 6 },
    });
    const cfg = await loadConfigFile(fx.clusterConfig, ClusterConfigSchema);
    await runLocal(cfg, { runDir: fx.runDir });
    const before = snapshot(fx.runDir);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['run.json', 'pairs.jsonl', 'report.json']));

    const refused = new RegExp(
      `run dir ${fx.runDir} is not empty: it holds run "twice" started .*--overwrite`,
    );
    await expect(runLocal(cfg, { runDir: fx.runDir })).rejects.toThrow(refused);
    for (const args of [
      ['cluster', '--config', fx.clusterConfig],
      ['coordinator', '--config', fx.clusterConfig, '--nats', nats],
      ['demo', '--config', fx.clusterConfig, '--run-dir', fx.runDir],
    ]) {
      const r = await runTsoCommand(args, 60_000);
      expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr, args[0]).toMatch(refused);
      expect(r.stdout, args[0]).not.toMatch(/starting|node serving/); // refused before starting anything
    }
    expect(snapshot(fx.runDir)).toEqual(before);

    const report = await runLocal(cfg, { runDir: fx.runDir, overwrite: true });
    const after = readJson<ReportJson & { pairs_total: number }>(fx.runDir, 'report.json');
    expect(after.iterations).toBe(1);
    expect(readJsonl(fx.runDir, 'pairs.jsonl')).toHaveLength(report.pairs_total);
    expect(readJsonl(fx.runDir, 'steps.jsonl')).toHaveLength(report.steps);
    expect(readJsonl(fx.runDir, 'metrics.jsonl')).toHaveLength(2);
    expect(snapshot(fx.runDir)['run.json'], 'a new run instance').not.toBe(before['run.json']);
  }, 180_000);
});
