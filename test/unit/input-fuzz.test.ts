// Fuzz of what a user hands the project: seeded random mutations of every shipped cluster and node
// config (as parsed objects and as text) and of prompt/pair JSONL files. Each mutation is either still
// valid or refused with a ConfigError naming the file and the key (or line:column), or a DataError
// naming file:line; nothing else may escape (a TypeError would be a crash of the CLI).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { z } from 'zod';
import { ClusterConfigSchema } from '../../src/cluster/cluster-config.js';
import { NodeConfigSchema } from '../../src/cluster/node/node-config.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { DataError } from '../../src/data/errors.js';
import { readPairs, readPrompts } from '../../src/data/formats.js';
import { Rng } from '../../src/tso/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'tso-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every path to a value inside `v` (objects and arrays included). */
function paths(v: Json, at: Path = []): Path[] {
  const out: Path[] = at.length ? [at] : [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function parentOf(root: Json, p: Path): { [k: string]: Json } | Json[] {
  let cur = root;
  for (const k of p.slice(0, -1)) cur = (cur as Record<string | number, Json>)[k];
  return cur as { [k: string]: Json } | Json[];
}

/** A value of another kind than `v`: what a user typing the wrong thing produces. */
function wrongKind(v: Json, rng: Rng): Json {
  if (typeof v === 'number') return rng.pick(['fast', -1e308, true, [], { x: 1 }]);
  if (typeof v === 'string') return rng.pick([42, false, ['a'], { a: 'b' }, '']);
  if (typeof v === 'boolean') return rng.pick(['yes', 1, null]);
  if (Array.isArray(v)) return rng.pick(['a list?', 3, { 0: 'x' }]);
  return rng.pick([7, 'text', [1, 2]]);
}

/**
 * One structural mutation. Returns the key names a refusal must mention (any one of them), if any: a
 * renamed key is named as unknown, or — in a union keyed by it — as the missing original.
 */
function mutate(root: Json, rng: Rng): string[] | undefined {
  const all = paths(root);
  const p = rng.pick(all);
  const parent = parentOf(root, p);
  const key = p[p.length - 1];
  const kind = rng.below(3);
  if (kind === 0 && !Array.isArray(parent) && typeof key === 'string') {
    // A typo in a key name: strict schemas must refuse it and name it.
    const typo = key.length > 2 ? key.slice(0, -1) + key.slice(-1).repeat(2) : `${key}x`;
    parent[typo] = parent[key];
    delete parent[key];
    return [typo, key];
  }
  if (kind === 1) {
    (parent as Record<string | number, Json>)[key] = wrongKind(
      (parent as Record<string | number, Json>)[key],
      rng,
    );
    return typeof key === 'string' ? [key] : undefined;
  }
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key as string];
  return undefined;
}

/** Damage to the text itself: cut, stray bytes, broken brackets and quotes. */
function corruptText(text: string, rng: Rng): string {
  const at = rng.below(text.length + 1);
  switch (rng.below(4)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + rng.pick(['\u0000', '\uFFFD', '\t', '%', '@']) + text.slice(at);
    case 2:
      return text.slice(0, at) + rng.pick(['{', '[', '"', ': :', '\n  - ']) + text.slice(at);
    default:
      return text.slice(0, at) + '\n' + text.slice(at).replace(/^ +/gm, (s) => s.slice(1));
  }
}

const SHIPPED: { file: string; schema: z.ZodType<unknown> }[] = [
  ...['config/cluster.yaml', 'config/benchmark.yaml'].map((file) => ({ file, schema: ClusterConfigSchema })),
  ...readdirSync('nodes')
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: `nodes/${f}`, schema: NodeConfigSchema })),
];

/** Loads `text` as `name`; returns 'ok', or the ConfigError's message (anything else fails the test). */
async function load(name: string, text: string, schema: z.ZodType<unknown>): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, text);
  try {
    await loadConfigFile(file, schema);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ConfigError))
      throw new Error(`${name}: not a ConfigError: ${String(e)}\n${text}`, { cause: e });
    for (const line of e.message.split('\n')) expect(line.startsWith(file), e.message).toBe(true);
    return e.message;
  }
}

describe('input fuzz', () => {
  it('mutated configs are accepted or refused naming the file and key: 0 crashes', async () => {
    const counts = { mutations: 0, refused: 0, accepted: 0 };
    for (const { file, schema } of SHIPPED) {
      const text = readFileSync(file, 'utf8');
      expect(await load('base.yaml', text, schema)).toBe('ok');
      for (let i = 0; i < 40; i++) {
        const rng = Rng.fromSeed(7, file, i);
        const obj = parseYaml(text) as Json;
        const keys = mutate(obj, rng);
        const msg = await load(`m${i}.yaml`, toYaml(obj), schema);
        counts.mutations++;
        if (msg === 'ok') counts.accepted++;
        else {
          counts.refused++;
          if (keys)
            expect(
              keys.some((k) => msg.includes(k)),
              `${msg} names none of ${keys.join(', ')}`,
            ).toBe(true);
        }
        const bad = await load(`t${i}.yaml`, corruptText(text, rng), schema);
        counts.mutations++;
        if (bad === 'ok') counts.accepted++;
        else counts.refused++;
      }
    }
    console.log(`config fuzz: ${JSON.stringify(counts)}, 0 crashes`);
    expect(counts.refused).toBeGreaterThan(counts.mutations / 2);
  });

  it('mutated prompt and pair JSONL files are accepted or refused with file:line: 0 crashes', async () => {
    const prompts = readFileSync('examples/new-prompts.jsonl', 'utf8').trim().split('\n');
    const pairs = prompts.map((l) => {
      const p = (JSON.parse(l) as { prompt: string }).prompt;
      return JSON.stringify({ prompt: p, chosen: 'a', rejected: 'b', weight: 1 });
    });
    const counts = { mutations: 0, refused: 0, accepted: 0 };
    for (const [kind, lines, read] of [
      ['prompts', prompts, readPrompts],
      ['pairs', pairs, readPairs],
    ] as const) {
      for (let i = 0; i < 60; i++) {
        const rng = Rng.fromSeed(11, kind, i);
        const copy = [...lines];
        const at = rng.below(copy.length);
        const obj = JSON.parse(copy[at]) as Json;
        if (rng.bernoulli(0.5)) mutate(obj, rng);
        copy[at] = rng.bernoulli(0.5) ? JSON.stringify(obj) : corruptText(copy[at], rng);
        const file = join(dir, `${kind}-${i}.jsonl`);
        writeFileSync(file, copy.join('\n') + '\n');
        counts.mutations++;
        try {
          await read(file);
          counts.accepted++;
        } catch (e) {
          if (!(e instanceof DataError))
            throw new Error(`${file}: not a DataError: ${String(e)}`, { cause: e });
          counts.refused++;
          expect(e.message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+: `));
          // The corrupt line is the one named (a cut line may swallow the newline: the next one).
          expect(e.line).toBeGreaterThanOrEqual(at + 1);
          expect(e.line).toBeLessThanOrEqual(copy.length + 1);
        }
      }
    }
    console.log(`JSONL fuzz: ${JSON.stringify(counts)}, 0 crashes`);
    expect(counts.refused).toBeGreaterThan(counts.mutations / 3);
  });
});
