// A late-joining policy replica in a `reference: fixed` run: it must load the CURRENT policy (and
// optimizer state) and the run's fixed reference v0. Before, the coordinator only tracked the last
// refreshed version, which with a fixed reference stays v0: the joiner started from v0 as its policy
// and the replicas' weight checksums diverged at the first step after it joined.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFixture } from '../helpers/cluster-fixture.js';
import {
  readJson,
  readJsonl,
  runClusterLogged,
  tail,
  type ReportJson,
  type StepRow,
} from '../helpers/cluster-run.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { spawnLateJoiner, type LateJoiner } from '../helpers/late-joiner.js';
import { stopProcess } from '../helpers/tso-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Mini-batch 1's pairs phase: its generation, where replicas are admitted, has passed. */
const FIRST_PAIRS = /\[coordinator\] .*mini-batch 1\/\d+ pairs/;

describe('fixed reference in the cluster', () => {
  it('admits a late replica with the current policy and the fixed reference; every step agrees', async () => {
    const MB = 6;
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const fx = await makeFixture({
      nats: nats.url,
      cluster: 'fixedref',
      extraPolicies: 1,
      run: {
        run_id: 'cluster-fixedref',
        minibatches: MB,
        minibatch_prompts: 6,
        epochs: 1,
        train_batch_pairs: 6,
        reference: 'fixed',
        optimizer: { lr: 0.001, weight_decay: 0, clip_norm: 1, warmup_steps: 3 },
      },
    });
    cleanups.push(() => rmSync(fx.root, { recursive: true, force: true }));
    let joiner: LateJoiner | undefined;
    cleanups.push(() => stopProcess(joiner?.child));
    const run = await runClusterLogged(fx.clusterConfig, (line, children, natsUrl) => {
      if (!joiner && FIRST_PAIRS.test(line))
        joiner = spawnLateJoiner(fx.nodeConfig('policy-2'), natsUrl, children.get('coordinator'));
    });
    const log = `${tail(run.lines)}\n--- policy-2 ---\n${joiner?.output() ?? '(not started)'}`;
    expect(run.code, log).toBe(0);
    const steps = readJsonl<StepRow>(fx.runDir, 'steps.jsonl');
    for (const s of steps) expect(s.checksum, `step ${s.step}`).toMatch(/^[0-9a-f]{64}$/);
    const firstThree = steps.findIndex((s) => s.replicas === 3);
    expect(firstThree, log).toBeGreaterThan(0);
    expect(steps.slice(firstThree).every((s) => s.replicas === 3)).toBe(true);
    const report = readJson<ReportJson>(fx.runDir, 'report.json');
    expect(report.iterations).toBe(MB);
    expect(report.events.some((e) => e.node === 'policy-2' && e.kind === 'joined')).toBe(true);
    for (const n of report.nodes) expect(n.lost, `${n.id}: ${n.lost_reason ?? ''}`).toBe(false);
  }, 150_000);
});
