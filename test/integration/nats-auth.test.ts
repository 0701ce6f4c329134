// NATS authentication by default (issue "A cluster that keeps strangers out", item 1): the nats-server
// `tso cluster` starts refuses anonymous clients, and each principal may publish and subscribe only
// where its role needs to. Real nats-server on loopback, a real `tso node` process.
import { rmSync } from 'node:fs';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  planNatsAuth,
  serverConfig,
  settingFor,
  type NatsAuthPlan,
  type NatsUser,
} from '../../src/cluster/launcher/nats-auth.js';
import { startNats, type NatsProcess } from '../../src/cluster/launcher/nats-process.js';
import { NATS_PASSWORD_ENV, NATS_SETTING_ENV, resolveNats } from '../../src/cluster/nats-setting.js';
import {
  buckets,
  connectNats,
  Membership,
  publishMessage,
  subjects,
  WeightStore,
} from '../../src/transport/index.js';
import { DEFAULT_GENERATORS, makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import {
  readJson,
  readJsonl,
  runClusterLogged,
  tail,
  type ReportJson,
  type StepRow,
} from '../helpers/cluster-run.js';
import { runTsoCommand, startTsoNode } from '../helpers/tso-process.js';

const CLUSTER = 'authc';
const RUN = 'authrun-1';
let server: NatsProcess;
let plan: NatsAuthPlan;
let fx: Fixture;
const open: NatsConnection[] = [];

function envOf(u: NatsUser): Record<string, string> {
  return {
    [NATS_SETTING_ENV]: JSON.stringify(settingFor(u, server.url, NATS_PASSWORD_ENV)),
    [NATS_PASSWORD_ENV]: u.password,
  };
}

async function as(u: NatsUser): Promise<NatsConnection> {
  const r = resolveNats(settingFor(u, server.url, 'PW'), 'nats', { PW: u.password });
  const nc = await connectNats(r.servers, `test-${u.user}`, { extra: r.extra });
  open.push(nc);
  return nc;
}

/** Resolves with the first permissions violation the server reports on nc (or '' after ms). */
function violation(nc: NatsConnection, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(''), ms);
    void (async () => {
      for await (const s of nc.status())
        // nats.js reports only the code here; the subject shows in what did (not) arrive.
        if (s.type === 'error' && /permissions_violation/i.test(String(s.data))) {
          clearTimeout(t);
          resolve(String(s.data));
          return;
        }
    })();
  });
}

beforeAll(async () => {
  fx = await makeFixture({
    cluster: CLUSTER,
    judge: false,
    policies: 1,
    generators: DEFAULT_GENERATORS.slice(0, 1),
  });
  plan = planNatsAuth(
    CLUSTER,
    RUN,
    [
      { id: 'policy-0', role: 'policy', replica: 0 },
      { id: 'gen-a', role: 'generator', replica: 0 },
    ],
    'authrun',
  );
  server = await startNats(() => {}, {
    config: (port, dir) => serverConfig(plan, { port, storeDir: dir }),
    probe: { user: plan.coordinator.user, pass: plan.coordinator.password },
  });
});

afterAll(async () => {
  for (const nc of open) await nc.close().catch(() => {});
  await server?.stop();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

describe('the launcher-started NATS keeps strangers out', () => {
  it('refuses a client and a node without credentials', async () => {
    const t0 = Date.now();
    await expect(connectNats(server.url, 'stranger', { timeoutMs: 2000 })).rejects.toThrow(/authorization/i);
    const stolen = { ...plan.coordinator, password: 'guess' };
    await expect(as(stolen)).rejects.toThrow(/authorization/i);
    // A real node process pointed at the server without credentials exits with the reason.
    const r = await runTsoCommand(['node', '--config', fx.nodeConfig('gen-a'), '--nats', server.url], 60_000);
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/authorization violation/i);
    console.log(`anonymous refusals: ${Date.now() - t0} ms`);
  }, 90_000);

  it('a node with its generated credentials serves and registers under its own key only', async () => {
    const node = await startTsoNode(
      fx.nodeConfig('gen-a'),
      server.url,
      60_000,
      envOf(plan.nodes.get('gen-a')!),
    );
    try {
      const coord = await as(plan.coordinator);
      const m = await Membership.open(coord, { bucket: buckets.nodes(CLUSTER), ttlMs: 3000 });
      expect((await m.list()).map((r) => r.nodeId)).toEqual(['gen-a']);
      // The policy node's credentials cannot overwrite the generator's membership key.
      const pol = await as(plan.nodes.get('policy-0')!);
      const v = violation(pol, 3000);
      pol.publish(`$KV.${buckets.nodes(CLUSTER)}.gen-a`, new Uint8Array([1]));
      expect(await v).toMatch(/PERMISSIONS_VIOLATION/);
      expect((await m.get('gen-a'))?.role).toBeTruthy();
    } finally {
      await node.stop();
    }
  }, 90_000);

  it('generator credentials cannot publish an Update, read the weights or delete streams', async () => {
    const coord = await as(plan.coordinator);
    const store = await WeightStore.open(coord, {
      bucket: buckets.weights(RUN),
      stateBucket: buckets.state(RUN),
      runId: RUN,
    });
    await store.putVersion('v1', new Uint8Array(4096).fill(7));
    const seen: string[] = [];
    const sub = coord.subscribe(subjects.all(RUN), { callback: (_e, msg) => seen.push(msg.subject) });
    await coord.flush();

    const gen = await as(plan.nodes.get('gen-a')!);
    const v = violation(gen, 3000);
    await publishMessage(gen, subjects.update(RUN, 1), 'tso.v1.Update', { runId: RUN, step: 1 });
    expect(await v).toMatch(/PERMISSIONS_VIOLATION/);
    const v2 = violation(gen, 3000);
    await publishMessage(gen, subjects.checksum(RUN, 1, 'policy-0'), 'tso.v1.Checksum', {
      runId: RUN,
      step: 1,
    });
    expect(await v2).toMatch(/PERMISSIONS_VIOLATION/);
    // Its own response subject is allowed: the positive control that delivery works.
    await publishMessage(gen, subjects.responses(RUN, 0, 'gen-a'), 'tso.v1.Ack', { nodeId: 'gen-a' });
    await coord.flush();
    await new Promise((r) => setTimeout(r, 200));
    sub.unsubscribe();
    // No replica (every replica subscribes like the coordinator) ever saw the forged update or checksum.
    expect(seen).toEqual([subjects.responses(RUN, 0, 'gen-a')]);

    await expect(
      WeightStore.open(gen, { bucket: buckets.weights(RUN), stateBucket: buckets.state(RUN) }).then((s) =>
        s.getVersion('v1'),
      ),
    ).rejects.toThrow();
    const jsm = await gen.jetstreamManager();
    await expect(jsm.streams.delete(`OBJ_${buckets.weights(RUN)}`)).rejects.toThrow();
    // Nor can it listen in on another principal's replies (which carry weight chunks).
    const w = violation(gen, 3000);
    gen.subscribe(`${plan.coordinator.inboxPrefix}.>`);
    expect(await w).toMatch(/PERMISSIONS_VIOLATION/);

    // A replica reads the weights it needs.
    const pol = await as(plan.nodes.get('policy-0')!);
    const ps = await WeightStore.open(pol, { bucket: buckets.weights(RUN), stateBucket: buckets.state(RUN) });
    expect((await ps.getVersion('v1')).data.byteLength).toBe(4096);
  }, 60_000);
});

describe('a replica speaks only for itself', () => {
  it("publishes checksums and acks on its own subjects, not on another replica's, and cannot take the lease", async () => {
    const coord = await as(plan.coordinator);
    const seen: string[] = [];
    const sub = coord.subscribe(subjects.all(RUN), { callback: (_e, msg) => seen.push(msg.subject) });
    await coord.flush();
    const pol = await as(plan.nodes.get('policy-0')!);
    const own = { runId: RUN, step: 2, nodeId: 'policy-0' };
    await publishMessage(pol, subjects.checksum(RUN, 2, 'policy-0'), 'tso.v1.Checksum', own);
    await publishMessage(pol, subjects.ack(RUN, 'v1', 'policy-0'), 'tso.v1.Ack', { nodeId: 'policy-0' });
    for (const subject of [subjects.checksum(RUN, 2, 'policy-1'), subjects.ack(RUN, 'v1', 'policy-1')]) {
      const v = violation(pol, 3000);
      await publishMessage(pol, subject, 'tso.v1.Checksum', { ...own, nodeId: 'policy-1' });
      expect(await v, subject).toMatch(/PERMISSIONS_VIOLATION/);
    }
    const v = violation(pol, 3000);
    pol.publish(`$KV.${buckets.lease('authrun')}.coordinator`, new Uint8Array([1]));
    expect(await v).toMatch(/PERMISSIONS_VIOLATION/);
    await coord.flush();
    await new Promise((r) => setTimeout(r, 200));
    sub.unsubscribe();
    expect(seen.sort()).toEqual([subjects.ack(RUN, 'v1', 'policy-0'), subjects.checksum(RUN, 2, 'policy-0')]);
  }, 60_000);
});

describe('tso cluster with generated credentials', () => {
  it('finishes a mini-batch on its own authenticated NATS', async () => {
    const f = await makeFixture({
      cluster: 'authrun',
      policies: 2,
      generators: DEFAULT_GENERATORS.slice(0, 1),
      run: { run_id: 'authrun', minibatches: 1, minibatch_prompts: 6, epochs: 1, train_batch_pairs: 6 },
    });
    try {
      const t0 = Date.now();
      const run = await runClusterLogged(f.clusterConfig);
      expect(run.code, tail(run.lines)).toBe(0);
      expect(run.lines.join('\n')).toMatch(/NATS users: coordinator \+ 4 node\(s\)/);
      expect(run.lines.join('\n')).not.toMatch(/permissions[ _]violation/i);
      // ...and with mTLS on gRPC: nobody served or called in plaintext.
      expect(run.lines.join('\n')).toMatch(/gRPC: mTLS with a run CA \(5 certificates/);
      expect(run.lines.join('\n')).not.toMatch(/gRPC without TLS/);
      console.log(`authenticated cluster mini-batch: ${Date.now() - t0} ms`);
    } finally {
      rmSync(f.root, { recursive: true, force: true });
    }
  }, 240_000);
  it("re-assigns a killed replica's shard on the authenticated bus and finishes", async () => {
    const f = await makeFixture({
      cluster: 'authkill',
      policies: 2,
      generators: DEFAULT_GENERATORS.slice(0, 1),
      run: { run_id: 'authkill', minibatches: 2, minibatch_prompts: 6, epochs: 3, train_batch_pairs: 4 },
    });
    try {
      let killed = '';
      const run = await runClusterLogged(f.clusterConfig, (line, children) => {
        // Kill policy-1 while the coordinator trains: its next shard must go to policy-0, which then
        // publishes that shard's subject (permitted: any shard, checked against the gRPC answer).
        if (!killed && /\[coordinator\] .*mini-batch 1\/\d+ train step/.test(line)) {
          killed = line;
          children.get('policy-1')?.kill('SIGKILL');
        }
      });
      const log = tail(run.lines);
      expect(killed, log).not.toBe('');
      expect(run.code, log).toBe(0);
      expect(run.lines.join('\n')).not.toMatch(/permissions[ _]violation/i);
      const report = readJson<ReportJson>(f.runDir, 'report.json');
      expect(report.nodes.find((n) => n.id === 'policy-1')?.lost, JSON.stringify(report.nodes)).toBe(true);
      const steps = readJsonl<StepRow>(f.runDir, 'steps.jsonl');
      expect(
        steps.some((st) => st.reassigned.length > 0 || st.replicas === 1),
        log,
      ).toBe(true);
    } finally {
      rmSync(f.root, { recursive: true, force: true });
    }
  }, 240_000);
});
