// Issue 10: a hung generator (SIGSTOP: it keeps its sockets but answers nothing) is dropped within the
// run's RPC deadline — the iteration it hangs in finishes within deadline + 5 s, the node recorded as
// lost — and once SIGCONT lets it heartbeat again it is re-admitted at a later mini-batch boundary and
// generates again. Real nats-server, real node processes.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATORS, makeFixture } from '../helpers/cluster-fixture.js';
import { readJson, readJsonl, runClusterLogged, tail, type ReportJson } from '../helpers/cluster-run.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { whenBusy } from '../helpers/proc-scan.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const DEADLINE_MS = 6000;

describe('a hung generator', () => {
  it('is lost within the deadline, its iteration finishes, and SIGCONT brings it back', async () => {
    // Enough mini-batches after the loss for gen-b to be seen heartbeating twice (1 s apart) at a
    // boundary: with the fast kernels the fixture's mini-batches take ~0.3 s each.
    const MB = 12;
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const fx = await makeFixture({
      nats: nats.url,
      cluster: 'hunggen',
      generators: DEFAULT_GENERATORS.slice(0, 2),
      rpc_deadline_ms: DEADLINE_MS,
      run: { run_id: 'hunggen', minibatches: MB, minibatch_prompts: 8, epochs: 1, train_batch_pairs: 8 },
    });
    cleanups.push(() => rmSync(fx.root, { recursive: true, force: true }));
    let stopped = '';
    let resumed = '';
    const run = await runClusterLogged(fx.clusterConfig, (line, children) => {
      const c = children.get('gen-b');
      if (!stopped && c?.pid && /\[coordinator\] .*mini-batch 2\/\d+ generate/.test(line)) {
        stopped = line;
        // Stopped while it generates if caught busy, else idle: then its next Generate hangs.
        whenBusy(c.pid, () => c.kill('SIGSTOP'), { ticks: 1, pollMs: 10, timeoutMs: 300 });
      } else if (stopped && !resumed && /\[coordinator\] WARN .*"kind":"lost"/.test(line)) {
        // gen-b is the only node stopped: the only one that can be lost.
        resumed = line;
        c?.kill('SIGCONT');
      }
    });
    const log = tail(run.lines, 80);
    expect(stopped, log).not.toBe('');
    expect(resumed, log).not.toBe('');
    expect(run.code, log).toBe(0);

    const events = readJsonl<{ node: string; kind: string; detail: string }>(fx.runDir, 'events.jsonl');
    const gb = events.filter((e) => e.node === 'gen-b').map((e) => `${e.kind}: ${e.detail}`);
    const why = `${gb.join('\n')}\n--- log ---\n${log}`;
    const lost = gb.filter((e) => e.startsWith('lost: '));
    expect(lost, why).toHaveLength(1);
    expect(lost[0], why).toMatch(/Generate.*DEADLINE_EXCEEDED|heartbeat/);
    const back = gb.findIndex((e) => /^joined: gen-b is back \(heartbeating again\)/.test(e));
    expect(back, why).toBeGreaterThan(gb.indexOf(lost[0]));

    // The iteration it hung in: its generate phase (the coordinator's own clock, metrics.jsonl) waited
    // out the deadline and no more than 5 s beyond it. It is the slowest generate phase of the run.
    const rows = readJsonl<{ phase?: string; diagnostics?: { phase_wall_s: Record<string, number> } }>(
      fx.runDir,
      'metrics.jsonl',
    );
    const gen = Math.max(...rows.map((r) => (r.diagnostics?.phase_wall_s.generate ?? 0) * 1000));
    console.log(
      `[hung-generator] ${lost[0]}; slowest generate phase ${Math.round(gen)} ms (deadline ${DEADLINE_MS} ms)`,
    );
    expect(gen).toBeGreaterThanOrEqual(DEADLINE_MS - 100);
    expect(gen).toBeLessThanOrEqual(DEADLINE_MS + 5000);

    const report = readJson<ReportJson & { per_iteration: { iteration: number; missing: number }[] }>(
      fx.runDir,
      'report.json',
    );
    expect(report.iterations).toBe(MB);
    // gen-b's work was missing while it hung (no other node serves its model), and not after it was back.
    expect(
      report.per_iteration.some((p) => p.missing > 0),
      JSON.stringify(report.per_iteration),
    ).toBe(true);
    expect(report.per_iteration[MB - 1].missing, JSON.stringify(report.per_iteration)).toBe(0);
  }, 300_000);
});
