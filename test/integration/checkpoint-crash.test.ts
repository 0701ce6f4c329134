// A crash in the middle of writing a checkpoint (injected with TSO_TEST_CRASH_AT: the coordinator
// exits 137 at that point, as if SIGKILLed) leaves a resumable run, and `tso resume` ends with the very
// weights of an uninterrupted run. Real processes: `tso cluster` with its own nats-server.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { runCluster } from '../../src/cluster/launcher/run-cluster.js';
import { runLocal } from '../../src/cluster/local-run.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import { DEFAULT_GENERATORS, makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { readJson, readJsonl, tail, type ReportJson } from '../helpers/cluster-run.js';

let fx: Fixture | undefined;
afterAll(() => {
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

const MB = 3;
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const litter = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => p.includes('.tmp-'));

/** One `tso cluster` run (or resume); the JetStream store dir it made must be gone when it returns. */
async function cluster(o: { resumeDir?: string; crashAt?: string }) {
  const lines: string[] = [];
  const code = await runCluster({
    configPath: fx!.clusterConfig,
    resumeDir: o.resumeDir,
    env: o.crashAt ? { TSO_TEST_CRASH_AT: o.crashAt } : {},
    out: (l) => lines.push(l),
  });
  const store = lines.map((l) => /JetStream store (\S+)\)/.exec(l)?.[1]).find((s) => s);
  expect(store, tail(lines)).toBeDefined();
  expect(existsSync(store!), `${store} left behind`).toBe(false);
  return { code, log: tail(lines) };
}

describe('a crash between checkpoint writes', () => {
  it('leaves a resumable run that ends with the weights of an uninterrupted one', async () => {
    fx = await makeFixture({
      // No `nats:`: the launcher starts its own (with per-run credentials).
      cluster: 'ckcrash',
      policies: 1,
      generators: DEFAULT_GENERATORS.slice(0, 2),
      run: { run_id: 'ckcrash', minibatches: MB, minibatch_prompts: 6, epochs: 1, train_batch_pairs: 6 },
    });
    const ck = join(fx.runDir, 'checkpoint');
    const latest = () => readFileSync(join(ck, 'LATEST'), 'utf8').trim();

    // 1. Killed right after policy.bin of checkpoint 2 was written (its other files not yet).
    const first = await cluster({ crashAt: 'checkpoint-after-weights@2' });
    expect(first.code, first.log).toBe(137);
    expect(latest()).toBe('ckpt-000001');
    expect(
      readdirSync(ck).filter((e) => e.startsWith('ckpt-000002')),
      'the cut write is visible',
    ).toHaveLength(1);

    // 2. Resumed, and killed again after checkpoint 2's directory is complete but before LATEST moved.
    const second = await cluster({ resumeDir: fx.runDir, crashAt: 'checkpoint-before-pointer@2' });
    expect(second.code, second.log).toBe(137);
    expect(latest()).toBe('ckpt-000001');

    // 3. Resumed to the end.
    const third = await cluster({ resumeDir: fx.runDir });
    expect(third.code, third.log).toBe(0);
    expect(latest()).toBe(`ckpt-00000${MB}`);
    expect(readdirSync(ck).sort()).toEqual(['LATEST', `ckpt-00000${MB - 1}`, `ckpt-00000${MB}`]);
    expect(litter(fx.runDir)).toEqual([]);
    const report = readJson<ReportJson & { pairs_total: number }>(fx.runDir, 'report.json');
    expect(report.iterations).toBe(MB);
    expect(readJsonl(fx.runDir, 'steps.jsonl')).toHaveLength(report.steps);
    expect(readJsonl(fx.runDir, 'pairs.jsonl')).toHaveLength(report.pairs_total);

    // The same run without a crash, in one process (the cluster equals it bit for bit).
    const cfg = await loadConfigFile(fx.clusterConfig, ClusterConfigSchema);
    const straight = join(fx.root, 'straight');
    await runLocal(cfg, { runDir: straight });
    expect(sha(join(fx.runDir, 'policy/weights.bin'))).toBe(sha(join(straight, 'policy/weights.bin')));
    for (const f of ['pairs.jsonl', 'steps.jsonl'])
      expect(readJsonl(fx.runDir, f).length, f).toBe(readJsonl(straight, f).length);
  }, 300_000);
});
