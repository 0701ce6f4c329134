// A mixed matrix from one cluster config: `tso cluster` starts the `tso serve` listed under `serve:` (a
// free loopback port, a key generated for the run), points the endpoint generator whose endpoint.model
// names it at the served URL, runs next to a tfjs generator, and pairs.jsonl lineage names the endpoint.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { PreferencePair } from '../../src/data/formats.js';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { readJsonl, runClusterLogged, tail } from '../helpers/cluster-run.js';

let fx: Fixture;
const PLACEHOLDER = 'http://127.0.0.1:8000/v1';

beforeAll(async () => {
  fx = await makeFixture({
    cluster: 'mixed-run',
    policies: 1,
    generators: [
      { id: 'gen-a', tier: 1, seed: 11 },
      { id: 'gen-b', tier: 2, seed: 12 },
    ],
    run: { run_id: 'mixed', minibatches: 1 },
  });
  const file = fx.nodeConfig('gen-b');
  const node = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete node.model;
  delete node.backend;
  writeFileSync(
    file,
    stringify({
      ...node,
      backend: 'openai',
      endpoint: { base_url: PLACEHOLDER, model: 'b-served', timeout_s: 30 },
    }),
  );
  const cluster = parse(readFileSync(fx.clusterConfig, 'utf8')) as Record<string, unknown>;
  cluster.serve = [{ model: fx.models['gen-b'], name: 'b-served' }];
  writeFileSync(fx.clusterConfig, stringify(cluster));
}, 120_000);

afterAll(() => {
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

describe('tso cluster with serve: entries', () => {
  it('serves the model, points the endpoint node at it, and lineage names the endpoint', async () => {
    const run = await runClusterLogged(fx.clusterConfig);
    expect(run.code, tail(run.lines)).toBe(0);
    const servedLine = run.lines.find((l) => /\[serve-b-served\] serving b-served at /.test(l));
    expect(servedLine, tail(run.lines)).toBeDefined();
    const url = /at (\S+)/.exec(servedLine ?? '')?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(url).not.toBe(PLACEHOLDER);
    const pairs = readJsonl<PreferencePair>(fx.runDir, 'pairs.jsonl');
    const sides = pairs.flatMap((p) => (p.lineage ? [p.lineage.chosen, p.lineage.rejected] : []));
    const fromEndpoint = sides.filter((s) => s.node === 'gen-b');
    expect(fromEndpoint.length, tail(run.lines)).toBeGreaterThan(0);
    expect(fromEndpoint[0]).toMatchObject({ source: 'generator', weight_version: `openai:b-served@${url}` });
    expect(sides.some((s) => s.node === 'gen-a')).toBe(true);
    // The run's key is never written into the run's record.
    const record = readFileSync(`${fx.runDir}/cluster-config.json`, 'utf8');
    expect(record).not.toMatch(/api_key/);
  }, 400_000);
});
