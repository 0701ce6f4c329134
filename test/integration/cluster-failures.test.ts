// Failure basics of a cluster of real processes (issue 3, items 6 and 8): `kill -9` of a generator
// during the run does not stop it and the record names the lost node; a policy replica that joins late
// loads the current weights (and optimizer state) before it serves, and trains bit-identically: the
// run ends with the weights of the same config run in one process.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { runLocal } from '../../src/cluster/local-run.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import {
  readJson,
  readJsonl,
  runClusterLogged,
  tail,
  type ReportJson,
  type StepRow,
} from '../helpers/cluster-run.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { spawnLateJoiner, type LateJoiner } from '../helpers/late-joiner.js';
import { stopProcess } from '../helpers/tso-process.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(
  name: string,
  o: { minibatches: number; prompts: number; extraPolicies?: number; gradShards?: number },
) {
  const nats: NatsServerHandle = await startNatsServer();
  cleanups.push(() => nats.stop());
  const fx: Fixture = await makeFixture({
    nats: nats.url,
    cluster: name,
    extraPolicies: o.extraPolicies,
    run: {
      run_id: `cluster-${name}`,
      minibatches: o.minibatches,
      minibatch_prompts: o.prompts,
      epochs: 1,
      train_batch_pairs: 6,
      ...(o.gradShards ? { grad_shards: o.gradShards } : {}),
    },
  });
  cleanups.push(() => rmSync(fx.root, { recursive: true, force: true }));
  return fx;
}

interface PairRow {
  lineage?: { iteration?: number; chosen: { node?: string }; rejected: { node?: string } };
}

/** Mini-batch 1's pairs phase: its generation, where replicas are admitted, has passed. */
const FIRST_PAIRS = /\[coordinator\] .*mini-batch 1\/\d+ pairs/;

describe('cluster failures', () => {
  it('survives kill -9 of a generator mid-run and records the lost node', async () => {
    const MB = 3;
    const fx = await setup('killgen', { minibatches: MB, prompts: 8 });
    let killedAt = '';
    const run = await runClusterLogged(fx.clusterConfig, (line, children) => {
      // Kill as soon as the coordinator starts generating for the first mini-batch.
      if (!killedAt && /\[coordinator\] .*mini-batch 1\/\d+ generate/.test(line)) {
        killedAt = line;
        children.get('gen-b')?.kill('SIGKILL');
      }
    });
    const log = tail(run.lines);
    expect(killedAt, log).not.toBe('');
    expect(run.children.get('gen-b')?.signalCode, log).toBe('SIGKILL');
    expect(run.code, log).toBe(0);

    const report = readJson<ReportJson>(fx.runDir, 'report.json');
    expect(report.iterations).toBe(MB);
    expect(report.per_iteration).toHaveLength(MB);
    const lost = report.nodes.find((n) => n.id === 'gen-b');
    expect(lost, JSON.stringify(report.nodes)).toBeDefined();
    expect(lost!.lost).toBe(true);
    expect(lost!.lost_reason).toBeTruthy();
    for (const n of report.nodes.filter((x) => x.id !== 'gen-b'))
      expect(n.lost, `${n.id}: ${n.lost_reason ?? ''}`).toBe(false);
    // Lost once: its registration, still listed until the TTL lapses, does not bring it back.
    expect(report.events.filter((e) => e.node === 'gen-b' && e.kind === 'lost')).toHaveLength(1);
    // Its model had no other node: the work it could not do is recorded as missing, the rest went on.
    expect(report.per_iteration.reduce((a, it) => a + it.missing, 0)).toBeGreaterThan(0);
    const pairs = readJsonl<PairRow>(fx.runDir, 'pairs.jsonl');
    const lastNodes = new Set(
      pairs
        .filter((p) => p.lineage?.iteration === MB - 1)
        .flatMap((p) => [p.lineage?.chosen.node, p.lineage?.rejected.node]),
    );
    expect(lastNodes.has('gen-b')).toBe(false);
    expect(lastNodes.has('gen-a') || lastNodes.has('gen-c')).toBe(true);
    const steps = readJsonl<StepRow>(fx.runDir, 'steps.jsonl');
    expect(steps.length).toBe(report.steps);
    for (const s of steps) expect(s.replicas, `step ${s.step}`).toBe(2);
  }, 150_000);

  it('admits a policy replica that joins late with the current weights, and changes no bit', async () => {
    // The joiner is spawned in mini-batch 1 with the coordinator paused until it has registered
    // (spawnLateJoiner), so it is admitted at the start of mini-batch 2 however loaded the machine is.
    // Three gradient shards: policy-0 computes two of them until policy-2 joins and takes one.
    const MB = 6;
    const fx = await setup('late', { minibatches: MB, prompts: 6, extraPolicies: 1, gradShards: 3 });
    let joiner: LateJoiner | undefined;
    cleanups.push(() => stopProcess(joiner?.child));
    const run = await runClusterLogged(fx.clusterConfig, (line, children, natsUrl) => {
      if (!joiner && FIRST_PAIRS.test(line))
        joiner = spawnLateJoiner(fx.nodeConfig('policy-2'), natsUrl, children.get('coordinator'));
    });
    const log = `${tail(run.lines)}\n--- policy-2 ---\n${joiner?.output() ?? '(not started)'}`;
    expect(joiner, log).toBeDefined();
    expect(run.code, log).toBe(0);
    // The joiner was still serving when the run ended (the launcher stops only its own children).
    expect(joiner!.child.exitCode, log).toBeNull();
    await stopProcess(joiner!.child);
    expect(joiner!.child.exitCode, log).toBe(0); // a clean shutdown on SIGTERM

    const steps = readJsonl<StepRow>(fx.runDir, 'steps.jsonl');
    for (const s of steps) expect(s.checksum, `step ${s.step}`).toMatch(/^[0-9a-f]{64}$/);
    // Mini-batch 0 trains on the two configured replicas; from the mini-batch the joiner was admitted
    // at on, three replicas report the same checksum after every step.
    expect(steps.filter((s) => s.iteration === 0).every((s) => s.replicas === 2)).toBe(true);
    const firstThree = steps.findIndex((s) => s.replicas === 3);
    expect(
      firstThree,
      `${log}\n${JSON.stringify(steps.map((s) => [s.iteration, s.replicas]))}`,
    ).toBeGreaterThan(0);
    const joinedAt = steps[firstThree].iteration;
    expect(steps.slice(firstThree).every((s) => s.replicas === 3)).toBe(true);
    expect(steps.filter((s) => s.iteration === joinedAt).every((s) => s.replicas === 3)).toBe(true);

    const report = readJson<ReportJson>(fx.runDir, 'report.json');
    expect(report.iterations).toBe(MB);
    expect(
      report.events.some((e) => e.node === 'policy-2' && e.kind === 'joined' && /loaded/.test(e.detail)),
      JSON.stringify(report.events),
    ).toBe(true);
    for (const it of report.per_iteration) {
      const want =
        it.iteration - 1 >= joinedAt ? ['policy-0', 'policy-1', 'policy-2'] : ['policy-0', 'policy-1'];
      expect([...it.refresh_acks].sort(), `iteration ${it.iteration}`).toEqual(want);
    }
    for (const n of report.nodes) expect(n.lost, `${n.id}: ${n.lost_reason ?? ''}`).toBe(false);

    // The same config in one process, where nobody joins: the same final weights, bit for bit.
    const localDir = join(fx.root, 'local-run');
    await runLocal(await loadConfigFile(fx.clusterConfig, ClusterConfigSchema), { runDir: localDir });
    const sha = (dir: string) => readJson<{ sha256: string }>(join(dir, 'policy'), 'manifest.json').sha256;
    console.log(`[cluster-failures] late join: ${sha(fx.runDir)}, in-process: ${sha(localDir)}`);
    expect(sha(fx.runDir)).toMatch(/^[0-9a-f]{64}$/);
    expect(sha(fx.runDir)).toBe(sha(localDir));
  }, 240_000);
});
