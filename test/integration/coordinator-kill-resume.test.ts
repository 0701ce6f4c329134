// Issue 10: `kill -9` of the coordinator mid-step, then `tso resume RUN_DIR` through the CLI (a new
// process, on the launcher's fresh nats-server and nodes): the run ends with the weights of the
// uninterrupted run, bit for bit, and its logs hold each step once.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATORS, makeFixture } from '../helpers/cluster-fixture.js';
import { inProcessPolicySha, policySha, readJsonl, runClusterLogged, tail } from '../helpers/cluster-run.js';
import { runTsoCommand } from '../helpers/tso-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('kill -9 of the coordinator, then tso resume', () => {
  it('ends bit-identical to the uninterrupted run', async () => {
    const MB = 3;
    const fx = await makeFixture({
      cluster: 'coordkill',
      generators: DEFAULT_GENERATORS.slice(0, 2),
      run: { run_id: 'coordkill', minibatches: MB, minibatch_prompts: 8, epochs: 2, train_batch_pairs: 4 },
    });
    cleanups.push(() => rmSync(fx.root, { recursive: true, force: true }));
    let killedAt = '';
    const run = await runClusterLogged(fx.clusterConfig, (line, children) => {
      // Mid-step of mini-batch 2: after its checkpoint of mini-batch 1, before the next.
      if (!killedAt && /\[coordinator\] .*mini-batch 2\/\d+ train step/.test(line)) {
        killedAt = line;
        children.get('coordinator')?.kill('SIGKILL');
      }
    });
    expect(killedAt, tail(run.lines)).not.toBe('');
    expect(run.code, tail(run.lines)).not.toBe(0);

    const r = await runTsoCommand(['resume', fx.runDir], 240_000);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const steps = readJsonl<{ step: number }>(fx.runDir, 'steps.jsonl');
    expect(steps.map((s) => s.step)).toEqual(steps.map((_, i) => i));

    const localDir = join(fx.root, 'local-run');
    const want = await inProcessPolicySha(fx.clusterConfig, localDir);
    console.log(
      `[coordinator-kill] killed at: ${killedAt}; resumed ${policySha(fx.runDir)}, uninterrupted ${want}`,
    );
    expect(policySha(fx.runDir)).toBe(want);
    // The same pairs (lineage fields such as node ids differ between the cluster and one process).
    type Pair = { prompt: string; chosen: string; rejected: string; weight: number };
    const key = (d: string) =>
      readJsonl<Pair>(d, 'pairs.jsonl').map((p) => [p.prompt, p.chosen, p.rejected, p.weight]);
    expect(key(fx.runDir)).toEqual(key(localDir));
  }, 300_000);
});
