import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile, parseConfig, parseConfigText } from '../../src/config/load-config.js';
import { didYouMean, levenshtein } from '../../src/data/issues.js';

const Run = z.strictObject({
  training: z.strictObject({
    lr: z.number().positive(),
    epochs: z.int().min(1).default(1),
  }),
  nodes: z.array(
    z.strictObject({
      name: z.string().min(1),
      tier: z.int().min(0),
      role: z.enum(['policy', 'generator']).default('generator'),
    }),
  ),
  backend: z.union([z.literal('cpu'), z.literal('wasm'), z.literal('tensorflow')]).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

let dir: string;
let cwd: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tso-config-'));
  fs.mkdirSync(path.join(dir, 'config'));
  cwd = process.cwd();
  process.chdir(dir); // so error messages name the file as a user would type it
});
afterEach(() => {
  process.chdir(cwd);
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  fs.writeFileSync(path.join(dir, name), text);
  return name;
}

async function caught(p: Promise<unknown> | (() => unknown)): Promise<ConfigError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfigFile', () => {
  it('loads valid YAML and applies defaults', async () => {
    const f = write(
      'config/run.yaml',
      'training:\n  lr: 0.001\nnodes:\n  - name: p0\n    tier: 2\n    role: policy\n',
    );
    expect(await loadConfigFile(f, Run)).toEqual({
      training: { lr: 0.001, epochs: 1 },
      nodes: [{ name: 'p0', tier: 2, role: 'policy' }],
    });
  });

  it('loads valid JSON', async () => {
    const f = write('config/run.json', '{"training":{"lr":1},"nodes":[],"backend":"wasm"}');
    expect(await loadConfigFile(f, Run)).toEqual({
      training: { lr: 1, epochs: 1 },
      nodes: [],
      backend: 'wasm',
    });
  });

  it('names the key, the expectation and the value', async () => {
    const f = write('config/run.yaml', 'training:\n  lr: fast\nnodes: []\n');
    const e = await caught(loadConfigFile(f, Run));
    expect(e.message).toBe('config/run.yaml: training.lr: expected number, got string "fast"');
    expect(e.key).toBe('training.lr');
    expect(e.source).toBe('config/run.yaml');
  });

  it('suggests the intended key for a misspelt one', async () => {
    const f = write('config/run.yaml', 'trainig:\n  lr: 1\nnodes: []\n');
    const e = await caught(loadConfigFile(f, Run));
    expect(e.message).toBe(
      [
        'config/run.yaml: training: missing (expected object)',
        'config/run.yaml: unknown key "trainig" (did you mean "training"?)',
      ].join('\n'),
    );
    expect(e.problems.map((p) => p.key)).toEqual(['training', 'trainig']);
  });

  it('lists every problem, with array indices and nested suggestions', async () => {
    const f = write(
      'config/run.yaml',
      [
        'training:',
        '  lr: fast',
        '  epochs: 1.5',
        '  lrr: 3',
        'nodes:',
        '  - name: a',
        '    tier: -1',
        '  - name: ""',
        '    tier: 1',
        '    role: genrator',
        'backend: gpu',
        'zzz: 1',
      ].join('\n'),
    );
    const e = await caught(loadConfigFile(f, Run));
    expect(e.message.split('\n')).toEqual([
      'config/run.yaml: training.lr: expected number, got string "fast"',
      'config/run.yaml: training.epochs: expected integer, got number 1.5',
      'config/run.yaml: training: unknown key "lrr" (did you mean "lr"?)',
      'config/run.yaml: nodes[0].tier: expected integer >= 0, got -1',
      'config/run.yaml: nodes[1].name: expected non-empty string',
      'config/run.yaml: nodes[1].role: expected one of "policy", "generator", got string "genrator"',
      'config/run.yaml: backend: expected "cpu" or "wasm" or "tensorflow", got string "gpu"',
      'config/run.yaml: unknown key "zzz"',
    ]);
    expect(e.key).toBe('training.lr');
    expect(e.problems.map((p) => p.key)).toContain('nodes[1].role');
  });

  it('reports YAML syntax errors with line:col', async () => {
    const f = write('config/bad.yaml', 'training:\n  lr: 1\n lr2: 2\n');
    const e = await caught(loadConfigFile(f, Run));
    expect(e.message).toBe(
      'config/bad.yaml:3:1: YAML syntax error: All mapping items must start at the same column',
    );
    expect(e.problems[0]).toMatchObject({ line: 3, col: 1 });
  });

  it('rejects duplicate YAML keys', async () => {
    const f = write('config/dup.yaml', 'nodes: []\ntraining: {lr: 1}\nnodes: []\n');
    const e = await caught(loadConfigFile(f, Run));
    expect(e.message).toBe('config/dup.yaml:3:1: YAML syntax error: Map keys must be unique');
  });

  it('reports JSON syntax errors with line:col when the parser gives a position', async () => {
    const f = write('config/bad.json', '{\n  "training": {"lr": 1},\n}');
    const e = await caught(loadConfigFile(f, Run));
    expect(e.message).toMatch(/^config\/bad\.json:3:1: JSON syntax error: \S/);
  });

  it('treats an empty file as an empty document', async () => {
    const e = await caught(loadConfigFile(write('config/empty.yaml', ''), Run));
    expect(e.message).toBe('config/empty.yaml: expected object, got null');
  });

  it('refuses unknown extensions and missing files', async () => {
    expect((await caught(loadConfigFile(write('run.toml', ''), Run))).message).toBe(
      'run.toml: unsupported extension .toml; expected .yaml, .yml or .json',
    );
    expect((await caught(loadConfigFile('config/nope.yaml', Run))).message).toBe(
      'config/nope.yaml: cannot read config: no such file',
    );
  });

  it('refuses schemas that would silently drop unknown keys', async () => {
    const f = write('config/run.yaml', 'a: {b: 1}\n');
    const lax = z.strictObject({ a: z.object({ b: z.number() }) });
    await expect(loadConfigFile(f, lax)).rejects.toThrow(
      'config schema must reject unknown keys; use z.strictObject (or z.looseObject on purpose) at: a',
    );
    const deliberate = z.strictObject({ a: z.looseObject({ b: z.number() }) });
    expect(await loadConfigFile(write('config/ok.yaml', 'a: {b: 1, c: 2}\n'), deliberate)).toEqual({
      a: { b: 1, c: 2 },
    });
  });
});

describe('parseConfig', () => {
  it('validates already-parsed objects under a source name', async () => {
    const e = await caught(() =>
      parseConfig({ training: { lr: 1 }, nodes: [{ name: 'x', tier: '2' }] }, Run, '--set'),
    );
    expect(e.message).toBe('--set: nodes[0].tier: expected integer, got string "2"');
  });

  it('quotes keys that are not identifiers', async () => {
    const e = await caught(() => parseConfig({ training: { lr: 1 }, nodes: [], labels: { 'a b': 3 } }, Run));
    expect(e.message).toBe('labels["a b"]: expected string, got number 3');
    expect(e.source).toBeUndefined();
  });

  it('parseConfigText parses YAML and JSON', () => {
    expect(parseConfigText('a: [1, 2]\n', 'yaml', 'x')).toEqual({ a: [1, 2] });
    expect(parseConfigText('{"a": null}', 'json', 'x')).toEqual({ a: null });
  });
});

describe('ConfigError', () => {
  it('builds a single-problem message from key, expectation and value', () => {
    const e = new ConfigError('nodes[2].tier', 'integer >= 0', -1, 'config/cluster.yaml');
    expect(e.message).toBe('config/cluster.yaml: nodes[2].tier: expected integer >= 0, got number -1');
    expect(e.key).toBe('nodes[2].tier');
    expect(e.name).toBe('ConfigError');
  });
});

describe('did you mean', () => {
  it('uses edit distance within a typo-sized limit', () => {
    expect(levenshtein('trainig', 'training')).toBe(1);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(didYouMean('trainig', ['nodes', 'training'])).toBe('training');
    expect(didYouMean('Backend', ['backend'])).toBe('backend');
    expect(didYouMean('x', ['lr', 'nodes'])).toBeUndefined();
    expect(didYouMean('modle', ['model', 'mode'])).toBe('model');
  });
});

describe('unions', () => {
  const Judge = z.strictObject({
    judge: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('heuristic'), bias: z.number() }),
      z.strictObject({ kind: z.literal('http'), url: z.string(), model: z.string().optional() }),
    ]),
  });

  it('names the discriminator and its allowed values', async () => {
    const e = await caught(() => parseConfig({ judge: { kind: 'x' } }, Judge, 'c.yaml'));
    expect(e.message).toBe('c.yaml: judge.kind: expected one of "heuristic", "http", got string "x"');
  });

  it('reports problems inside the selected branch, with suggestions', async () => {
    const e = await caught(() =>
      parseConfig({ judge: { kind: 'http', url: 3, modle: 'm' } }, Judge, 'c.yaml'),
    );
    expect(e.message.split('\n')).toEqual([
      'c.yaml: judge.url: expected string, got number 3',
      'c.yaml: judge: unknown key "modle" (did you mean "model"?)',
    ]);
  });
});
