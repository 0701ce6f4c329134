// A whole TSO run (`tso cluster`: its own NATS, certificates, every node a process) whose matrix has
// one local generator and one endpoint generator (`backend: openai`) backed by a real `tso serve` of
// another model: the coordinator uses the endpoint's answers like any generator's, and pairs.jsonl
// lineage names the endpoint and model.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { PreferencePair } from '../../src/data/formats.js';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { readJsonl, runClusterLogged, tail } from '../helpers/cluster-run.js';
import { startTsoServe, type TsoServe } from '../helpers/tso-serve.js';

let fx: Fixture;
let serve: TsoServe;

beforeAll(async () => {
  fx = await makeFixture({
    cluster: 'byo-run',
    policies: 1,
    generators: [
      { id: 'gen-a', tier: 1, seed: 11 },
      { id: 'gen-b', tier: 2, seed: 12 },
    ],
    run: { run_id: 'byo', minibatches: 1 },
  });
  serve = await startTsoServe(['--model', fx.models['gen-b'], '--model-name', 'gen-b-served']);
  // gen-b becomes an endpoint generator serving the same weights through tso serve
  const file = fx.nodeConfig('gen-b');
  const cfg = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete cfg.model;
  delete cfg.backend;
  writeFileSync(
    file,
    stringify({
      ...cfg,
      backend: 'openai',
      endpoint: { base_url: serve.url, model: 'gen-b-served', timeout_s: 30 },
    }),
  );
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

describe('a TSO run with an endpoint generator', () => {
  it('completes, and pairs name the endpoint generator in their lineage', async () => {
    const run = await runClusterLogged(fx.clusterConfig);
    expect(run.code, tail(run.lines)).toBe(0);
    const pairs = readJsonl<PreferencePair>(fx.runDir, 'pairs.jsonl');
    const sides = pairs.flatMap((p) => (p.lineage ? [p.lineage.chosen, p.lineage.rejected] : []));
    const fromEndpoint = sides.filter((s) => s.node === 'gen-b');
    expect(fromEndpoint.length, tail(run.lines)).toBeGreaterThan(0);
    expect(fromEndpoint[0]).toMatchObject({
      source: 'generator',
      model: 'gen-b',
      tier: 2,
      weight_version: `openai:gen-b-served@${serve.url}`,
    });
    expect(sides.some((s) => s.node === 'gen-a')).toBe(true);
  });
});
