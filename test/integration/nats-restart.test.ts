// Issue 10: a nats-server restart mid-training is survived. `tso cluster` runs with its own
// authenticated nats-server; while the replicas train, that nats-server is killed (`kill -9`, as a
// crash or the OOM killer would). The launcher's watchdog starts it again on the same port and store
// dir, every client reconnects, the coordinator retries what was lost in flight (gradient shards,
// weight checksums, acks) idempotently, and the run ends exit 0 with the weights of the uninterrupted
// run (the in-process run of the same config), no node lost.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATORS, makeFixture } from '../helpers/cluster-fixture.js';
import {
  inProcessPolicySha,
  policySha,
  readJson,
  readJsonl,
  runClusterLogged,
  tail,
  type ReportJson,
} from '../helpers/cluster-run.js';
import { natsServerBinary } from '../../src/cluster/launcher/nats-process.js';
import { processesMatching, whenBusy } from '../helpers/proc-scan.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The launcher's nats-server (not its watchdog, whose command line names the same config). */
function natsServerPids(storeDir: string): number[] {
  const bin = natsServerBinary();
  return processesMatching(join(storeDir, 'server.conf'))
    .filter((p) => p.cmd.startsWith(bin))
    .map((p) => p.pid);
}

describe('a nats-server restart mid-run', () => {
  it('kill -9 of the launcher’s nats-server while replicas train: restarted, the run completes bit-identical', async () => {
    const MB = 3;
    const fx = await makeFixture({
      cluster: 'natsrestart',
      generators: DEFAULT_GENERATORS.slice(0, 2),
      rpc_deadline_ms: 60_000,
      run: { run_id: 'natsrestart', minibatches: MB, minibatch_prompts: 8, epochs: 2, train_batch_pairs: 4 },
    });
    cleanups.push(() => rmSync(fx.root, { recursive: true, force: true }));
    let storeDir = '';
    let killed: number[] = [];
    let killedAt = '';
    const run = await runClusterLogged(fx.clusterConfig, (line, children) => {
      const m = /started nats-server at \S+ \(JetStream store (\S+)\)/.exec(line);
      if (m) storeDir = m[1];
      // Mini-batch 2 is past its reference log-probs (scored on policy-0): policy-1 next burns CPU
      // computing its gradient shard, so shards, updates and checksums are on the wire then.
      const c = children.get('policy-1');
      if (!killedAt && storeDir && c?.pid && /\[coordinator\] .*mini-batch 2\/\d+ reference/.test(line)) {
        killedAt = line;
        whenBusy(
          c.pid,
          () => {
            killed = natsServerPids(storeDir);
            for (const pid of killed) process.kill(pid, 'SIGKILL');
          },
          { ticks: 1, pollMs: 20 },
        );
      }
    });
    const log = tail(run.lines, 120);
    expect(killedAt, log).not.toBe('');
    expect(killed, log).toHaveLength(1);
    expect(run.code, log).toBe(0);
    expect(
      run.lines.some((l) => /restarting it on the same port and store/.test(l)),
      log,
    ).toBe(true);
    const report = readJson<ReportJson>(fx.runDir, 'report.json');
    expect(report.iterations).toBe(MB);
    expect(
      report.nodes.filter((n) => n.lost),
      JSON.stringify(report.nodes),
    ).toEqual([]);
    const retries = report.events.filter((e) => e.kind === 'retry');
    const outage = run.lines.filter((l) => /NATS|nats|outage|answered again|retry/.test(l));
    console.log(`[nats-restart] outage lines:\n${outage.join('\n')}`);
    console.log(
      `[nats-restart] killed nats-server pid ${killed[0]} at: ${killedAt}\n[nats-restart] retries: ${retries.map((e) => e.detail).join(' | ') || 'none'}`,
    );
    // Nothing of the run dir was written twice (a retried step is one row).
    const steps = readJsonl<{ step: number }>(fx.runDir, 'steps.jsonl');
    expect(steps.map((s) => s.step)).toEqual(steps.map((_, i) => i));

    const want = await inProcessPolicySha(fx.clusterConfig, join(fx.root, 'local-run'));
    const got = policySha(fx.runDir);
    console.log(`[nats-restart] after the restart: ${got}, uninterrupted: ${want}`);
    expect(got).toBe(want);
    // The restarted server is stopped with the run: no nats-server of this store is left.
    expect(natsServerPids(storeDir)).toEqual([]);
  }, 300_000);
});
