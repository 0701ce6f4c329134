// A config with an unknown key or a wrong type is rejected naming the key (issue 3, item 7): `tso node`
// and `tso cluster` exit 1 before starting anything, with one clear line on stderr.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { makeFixture, type Fixture } from '../helpers/cluster-fixture.js';
import { runTsoCommand } from '../helpers/tso-process.js';

let fx: Fixture;

/** Writes a copy of a fixture config with `edit` applied; returns its path. */
function variant(from: string, name: string, edit: (cfg: Record<string, unknown>) => void): string {
  const cfg = parse(readFileSync(from, 'utf8')) as Record<string, unknown>;
  edit(cfg);
  const file = join(fx.root, name);
  writeFileSync(file, stringify(cfg));
  return file;
}

beforeAll(async () => {
  // Nothing may start: the NATS URL points at a closed port on purpose.
  fx = await makeFixture({ nats: 'nats://127.0.0.1:9', cluster: 'cfgerr', judge: false, policies: 1 });
});

afterAll(() => {
  if (fx) rmSync(fx.root, { recursive: true, force: true });
});

describe('config errors name the key', () => {
  it('tso node and tso cluster reject unknown keys and wrong types', async () => {
    const gen = fx.nodeConfig('gen-a');
    const cases: { args: string[]; want: RegExp }[] = [
      {
        args: ['node', '--config', variant(gen, 'unknown.yaml', (c) => (c.tierr = 2))],
        want: /unknown\.yaml: unknown key "tierr" \(did you mean "tier"\?\)/,
      },
      {
        args: ['node', '--config', variant(gen, 'type.yaml', (c) => (c.tier = 'high'))],
        want: /type\.yaml: tier: expected integer, got string "high"/,
      },
      {
        args: ['node', '--config', variant(gen, 'missing.yaml', (c) => delete c.tier)],
        want: /missing\.yaml: tier: required for role generator/,
      },
      {
        args: ['cluster', '--config', variant(fx.clusterConfig, 'c-unknown.yaml', (c) => (c.nodez = []))],
        want: /c-unknown\.yaml: unknown key "nodez" \(did you mean "nodes"\?\)/,
      },
      {
        args: [
          'cluster',
          '--config',
          variant(
            fx.clusterConfig,
            'c-type.yaml',
            (c) => ((c.run as Record<string, unknown>).epochs = 'two'),
          ),
        ],
        want: /c-type\.yaml: run\.epochs: expected integer/,
      },
    ];
    const results = await Promise.all(cases.map((c) => runTsoCommand(c.args, 60_000)));
    results.forEach((r, i) => {
      const what = `tso ${cases[i].args.join(' ')}\n${r.stderr}`;
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toMatch(cases[i].want);
      expect(r.stdout, what).not.toMatch(/node serving|coordinator/);
    });
  }, 90_000);
});
