// A whole cluster as real processes (issue 3, item 8): a nats-server spawned here, 2 policy replicas,
// 3 generators and 1 judge, each `tso node` its own OS process, driven by `tso coordinator`. The run
// must gather responses from every generator over NATS, keep both replicas bit-identical at every
// optimizer step (>= 10), refresh the reference on every replica, and end with exactly the weights of
// the same run in one process (runLocal).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { runLocal } from '../../src/cluster/local-run.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import type { PreferencePair } from '../../src/data/formats.js';
import {
  connectNats,
  subscribeMessages,
  type NatsConnection,
  type ResponseBatch,
  type ReceivedMessage,
  type Subscription,
} from '../../src/transport/index.js';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import {
  readJson,
  readJsonl,
  runClusterLogged,
  tail,
  type ClusterRunResult,
  type ReportJson,
  type StepRow,
} from '../helpers/cluster-run.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const RUN_ID = 'cluster-full';
const MINIBATCHES = 2;
const PROMPTS = 8;
const GENERATORS = ['gen-a', 'gen-b', 'gen-c'];
const POLICIES = ['policy-0', 'policy-1'];

let nats: NatsServerHandle;
let fx: Fixture;
let nc: NatsConnection;
let responses: Subscription<ReceivedMessage<ResponseBatch>>;
let run: ClusterRunResult;
const perNode = new Map<string, number>();

describe('tso cluster: 2 policy replicas, 3 generators, 1 judge', () => {
  beforeAll(async () => {
    nats = await startNatsServer();
    fx = await makeFixture({
      nats: nats.url,
      cluster: 'full',
      run: {
        run_id: RUN_ID,
        minibatches: MINIBATCHES,
        minibatch_prompts: PROMPTS,
        epochs: 2,
        train_batch_pairs: 4,
      },
    });
    // Watch the data plane as an outsider: every node's ResponseBatch messages of every iteration.
    // (The coordinator names the run's subjects per run instance: <run_id>-<suffix>.)
    nc = await connectNats(nats.url, 'itest-observer');
    responses = await subscribeMessages(nc, 'tso.*.*.responses.*', 'tso.v1.ResponseBatch');
    void (async () => {
      for await (const m of responses) {
        if (!m.message.runId.startsWith(`${RUN_ID}-`)) continue;
        perNode.set(m.message.nodeId, (perNode.get(m.message.nodeId) ?? 0) + m.message.responses.length);
      }
    })();
    run = await runClusterLogged(fx.clusterConfig);
  }, 150_000);

  afterAll(async () => {
    responses?.stop();
    await nc?.drain().catch(() => {});
    await nats?.stop();
    if (fx) rmSync(fx.root, { recursive: true, force: true });
  });

  it('runs every iteration to the end and exits 0', () => {
    expect(run.code, tail(run.lines)).toBe(0);
    const report = readJson<ReportJson>(fx.runDir, 'report.json');
    expect(report.iterations).toBe(MINIBATCHES);
    // Every node process was stopped by the launcher at the end.
    for (const [name, c] of run.children)
      expect(c.exitCode !== null || c.signalCode !== null, name).toBe(true);
  });

  it('gathers responses from every generator over NATS', () => {
    for (const g of GENERATORS) expect(perNode.get(g), g).toBe(MINIBATCHES * PROMPTS);
    expect(perNode.get('policy-0')).toBe(MINIBATCHES * PROMPTS); // the policy's own samples
    const pairs = readJsonl<PreferencePair>(fx.runDir, 'pairs.jsonl');
    expect(pairs.length).toBeGreaterThan(0);
    const named = new Set(pairs.flatMap((p) => [p.lineage?.chosen.node, p.lineage?.rejected.node]));
    for (const g of GENERATORS) expect(named, `pairs.jsonl lineage names ${g}`).toContain(g);
  });

  it('keeps both replicas bit-identical at every one of >= 10 optimizer steps', () => {
    const steps = readJsonl<StepRow>(fx.runDir, 'steps.jsonl');
    expect(steps.length).toBeGreaterThanOrEqual(10);
    expect(steps.map((s) => s.step)).toEqual(steps.map((_, i) => i));
    for (const s of steps) {
      expect(s.replicas, `step ${s.step}`).toBe(2); // both replicas reported the same checksum
      expect(s.checksum, `step ${s.step}`).toMatch(/^[0-9a-f]{64}$/);
      expect(s.reassigned).toEqual([]);
    }
    expect(new Set(steps.map((s) => s.checksum)).size).toBe(steps.length); // the weights do move
    expect(readJson<ReportJson>(fx.runDir, 'report.json').steps).toBe(steps.length);
  });

  it('refreshes the reference on every replica each iteration', () => {
    const report = readJson<ReportJson>(fx.runDir, 'report.json');
    expect(report.per_iteration).toHaveLength(MINIBATCHES);
    for (const it of report.per_iteration) {
      expect([...it.refresh_acks].sort(), `iteration ${it.iteration}`).toEqual(POLICIES);
      expect(it.missing).toBe(0);
    }
  });

  it("records each iteration's step time, the slowest replica's compute and the coordination overhead", () => {
    const rows = readJsonl<{
      phase: string;
      diagnostics?: {
        step_ms: number | null;
        step_compute_ms: number | null;
        coordination_overhead: number | null;
      };
    }>(fx.runDir, 'metrics.jsonl').filter((r) => r.phase === 'minibatch');
    expect(rows).toHaveLength(MINIBATCHES);
    for (const r of rows) {
      const d = r.diagnostics!;
      expect(d.step_compute_ms!).toBeGreaterThan(0);
      expect(d.step_ms!).toBeGreaterThan(d.step_compute_ms!);
      expect(d.coordination_overhead!).toBeGreaterThan(0);
      expect(d.coordination_overhead!).toBeLessThan(1);
    }
  });

  it('lists all six nodes in the record, none lost', () => {
    const report = readJson<ReportJson>(fx.runDir, 'report.json');
    expect(report.nodes.map((n) => n.id).sort()).toEqual([...GENERATORS, 'judge', ...POLICIES].sort());
    for (const n of report.nodes) expect(n.lost, `${n.id}: ${n.lost_reason ?? ''}`).toBe(false);
    expect(report.events.filter((e) => e.kind === 'lost')).toEqual([]);
  });

  it('ends with the same weights as the same run in one process', async () => {
    const cfg = await loadConfigFile(fx.clusterConfig, ClusterConfigSchema);
    const localDir = join(fx.root, 'local-run');
    const local = await runLocal(cfg, { runDir: localDir });
    const clusterSteps = readJsonl<StepRow>(fx.runDir, 'steps.jsonl');
    const localSteps = readJsonl<StepRow>(localDir, 'steps.jsonl');
    expect(local.steps).toBe(clusterSteps.length);
    expect(localSteps.map((s) => s.pairs)).toEqual(clusterSteps.map((s) => s.pairs));
    localSteps.forEach((s, i) => expect(clusterSteps[i].loss, `step ${i}`).toBeCloseTo(s.loss, 5));
    const text = (p: PreferencePair) => [p.prompt, p.chosen, p.rejected];
    expect(readJsonl<PreferencePair>(localDir, 'pairs.jsonl').map(text)).toEqual(
      readJsonl<PreferencePair>(fx.runDir, 'pairs.jsonl').map(text),
    );
    const clusterSha = readJson<{ sha256: string }>(join(fx.runDir, 'policy'), 'manifest.json').sha256;
    const localSha = readJson<{ sha256: string }>(join(localDir, 'policy'), 'manifest.json').sha256;
    expect(clusterSha).toMatch(/^[0-9a-f]{64}$/);
    expect(clusterSha).toBe(localSha);
  }, 60_000);
});
