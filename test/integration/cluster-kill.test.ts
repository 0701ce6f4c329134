// Process hygiene of `tso cluster` (real processes, real nats-server on loopback): after `kill -9` of
// the launcher mid-run, none of its processes (nodes, coordinator, nats-server and its watchdog) and
// no temp dir of it survive 10 s, and a new run on the same NATS right after is unaffected.
import { existsSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startNats } from '../../src/cluster/launcher/nats-process.js';
import { runCluster } from '../../src/cluster/launcher/run-cluster.js';
import { probeNats } from '../../src/transport/index.js';
import { DEFAULT_GENERATORS, makeFixture } from '../helpers/cluster-fixture.js';
import { readJson, readJsonl, tail, type ReportJson } from '../helpers/cluster-run.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { isAlive, processesMatching, waitUntil } from '../helpers/proc-scan.js';
import { spawnTso, waitExit } from '../helpers/tso-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const RUN = { minibatches: 2, minibatch_prompts: 6, epochs: 1, train_batch_pairs: 6 };
/** The coordinator's first progress line of mini-batch 1: every node is up and the run is going. */
const RUNNING = /\[coordinator\] .*mini-batch 1\/\d+ generate/;

async function fixture(name: string, nats?: string) {
  const fx = await makeFixture({
    nats,
    cluster: name,
    generators: [DEFAULT_GENERATORS[0]],
    run: { run_id: name, ...RUN },
  });
  cleanups.push(() => rmSync(fx.root, { recursive: true, force: true }));
  return fx;
}

/** Starts `tso cluster`, waits until the run is under way, signals the launcher; how long until all are gone. */
async function killLauncherMidRun(
  configPath: string,
  marker: (out: string) => string[],
  signal: NodeJS.Signals = 'SIGKILL',
) {
  const launcher = spawnTso(['cluster', '--config', configPath]);
  cleanups.push(() => void launcher.child.kill('SIGKILL'));
  const running = await waitUntil(() => RUNNING.test(launcher.output()), 120_000);
  expect(running, launcher.output()).toBe(true);
  const needles = marker(launcher.output());
  const procs = needles.flatMap((n) => processesMatching(n)).filter((p) => p.pid !== launcher.child.pid);
  const t0 = Date.now();
  launcher.child.kill(signal);
  const gone = await waitUntil(
    () => procs.every((p) => !isAlive(p.pid)) && needles.every((n) => processesMatching(n).length === 0),
    10_000,
  );
  const ms = Date.now() - t0;
  console.log(`[cluster-kill] ${procs.length} processes gone ${ms} ms after ${signal} of the launcher`);
  const left = needles.flatMap((n) => processesMatching(n)).map((p) => `${p.pid} ${p.cmd}`);
  return { procs, gone, ms, left, output: launcher.output(), child: launcher.child };
}

describe('kill -9 of tso cluster', () => {
  it('leaves no node or coordinator behind, and a new run on the same NATS finishes', async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const fx = await fixture('kill9', nats.url);
    const k = await killLauncherMidRun(fx.clusterConfig, () => [fx.root]);
    // policy-0, policy-1, gen-a, judge, the coordinator
    expect(k.procs.length, k.output).toBe(5);
    expect(k.gone, `still alive after 10 s:\n${k.left.join('\n')}`).toBe(true);
    // The same NATS, the same cluster name, the same node ids: no orphan may answer this run.
    const lines: string[] = [];
    const code = await runCluster({
      configPath: fx.clusterConfig,
      overwrite: true,
      out: (l) => lines.push(l),
    });
    expect(code, tail(lines)).toBe(0);
    const report = readJson<ReportJson & { pairs_total: number }>(fx.runDir, 'report.json');
    expect(report.iterations).toBe(RUN.minibatches);
    expect(readJsonl(fx.runDir, 'steps.jsonl')).toHaveLength(report.steps);
    expect(readJsonl(fx.runDir, 'pairs.jsonl')).toHaveLength(report.pairs_total);
    expect(readJsonl(fx.runDir, 'metrics.jsonl')).toHaveLength(RUN.minibatches + 1);
  }, 240_000);

  for (const signal of ['SIGKILL', 'SIGINT'] as const)
    it(`takes the nats-server it started and its store dir down with it (${signal})`, async () => {
      // No `nats:` in the config: the launcher starts (and owns) a nats-server.
      const fx = await fixture(`own-${signal.toLowerCase()}`);
      let store = '';
      let certs = '';
      const k = await killLauncherMidRun(
        fx.clusterConfig,
        (out) => {
          store = /JetStream store (\S+)\)/.exec(out)?.[1] ?? '';
          certs = /certificates in (\S+)\)/.exec(out)?.[1] ?? '';
          return [fx.root, store];
        },
        signal,
      );
      expect(store, k.output).toMatch(/tso-nats-/);
      const natsServer = k.procs.filter((p) => p.cmd.includes('nats-server') && !p.cmd.includes('watchdog'));
      expect(natsServer, JSON.stringify(k.procs)).toHaveLength(1);
      expect(k.procs.length, k.output).toBe(4 + 1 + 2); // 4 nodes, the coordinator, the watchdog, nats-server
      expect(k.gone, `still alive after 10 s:\n${k.left.join('\n')}`).toBe(true);
      expect(await waitUntil(() => !existsSync(store), 2000), `${store} is left`).toBe(true);
      // The run's gRPC keys go with it (the watchdog deletes them if the launcher could not).
      expect(certs, k.output).toMatch(/tso-certs-/);
      expect(await waitUntil(() => !existsSync(certs), 2000), `${certs} is left`).toBe(true);
      // Ctrl-C: the launcher stopped everyone in order and says so with 130.
      if (signal === 'SIGINT') expect((await waitExit(k.child)).code, k.output).toBe(130);
    }, 180_000);

  it('a nats-server killed by a signal is restarted on its port and store; one that keeps dying is given up', async () => {
    const lines: string[] = [];
    const nats = await startNats((l) => lines.push(l));
    const serverPids = () =>
      processesMatching(nats.storeDir)
        .filter((p) => !p.cmd.includes('nats-watchdog'))
        .map((p) => p.pid);
    const first = serverPids();
    expect(first).toHaveLength(1);
    process.kill(first[0], 'SIGKILL');
    // Restarted: a new process on the same URL answers, and the launcher was told.
    expect(await waitUntil(() => serverPids().length === 1 && serverPids()[0] !== first[0], 10_000)).toBe(
      true,
    );
    expect(
      await waitUntil(
        () => lines.some((l) => /restarting it on the same port and store \(restart 1\)/.test(l)),
        5000,
      ),
    ).toBe(true);
    // The new process exists (and was announced) before it listens: one connection attempt can come too
    // early on a loaded machine, so the probe retries until the restarted server answers.
    expect(await waitUntil(() => probeNats(nats.url, 1000), 15_000)).toBe(true);
    let died = '';
    void nats.died.then((why) => (died = why));
    // Four more deaths within the minute are restarted too (restarts 2–5); the sixth is given up on.
    let last = serverPids()[0];
    for (let restart = 2; restart <= 6; restart++) {
      process.kill(last, 'SIGKILL');
      if (restart === 6) break;
      const said = new RegExp(`\\(restart ${restart}\\)`);
      const up = await waitUntil(() => {
        const pids = serverPids();
        return died !== '' || (lines.some((l) => said.test(l)) && pids.length === 1 && pids[0] !== last);
      }, 20_000);
      expect(up, lines.join('\n')).toBe(true);
      if (died !== '') break; // a start that failed by itself (port not yet free) counted too
      last = serverPids()[0];
    }
    expect(await waitUntil(() => died !== '', 20_000), lines.join('\n')).toBe(true);
    expect(died).toMatch(/after 5 restarts within 60 s: giving up/);
    const t0 = Date.now();
    await nats.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(existsSync(nats.storeDir)).toBe(false);
    expect(processesMatching(nats.storeDir)).toEqual([]);
  }, 60_000);

  it('stop() takes nats-server down even when its watchdog was killed on its own', async () => {
    const nats = await startNats(() => {});
    const server = processesMatching(nats.storeDir).filter((p) => !p.cmd.includes('nats-watchdog'));
    expect(server, JSON.stringify(server)).toHaveLength(1);
    process.kill(nats.pid, 'SIGKILL');
    expect(await nats.died).toMatch(/watchdog was killed \(SIGKILL\)/);
    await nats.stop();
    expect(await waitUntil(() => !isAlive(server[0].pid), 2000)).toBe(true);
    expect(existsSync(nats.storeDir)).toBe(false);
  });
});
