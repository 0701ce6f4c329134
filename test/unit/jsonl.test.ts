import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DataError } from '../../src/data/errors.js';
import {
  appendJsonl,
  formatJsonl,
  readJsonl,
  readJsonlLines,
  writeJsonl,
  type JsonlEntry,
} from '../../src/data/jsonl.js';
import { readPairs, readPrompts, writePairs, type PreferencePair } from '../../src/data/formats.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tso-jsonl-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

async function caught(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error('expected a DataError');
}

const Rec = z.looseObject({ prompt: z.string(), n: z.number().optional() });

describe('DataError', () => {
  it('formats a single problem as file:line: reason', () => {
    const e = new DataError('a.jsonl', 7, 'prompt: expected string, got number');
    expect(e.message).toBe('a.jsonl:7: prompt: expected string, got number');
    expect([e.file, e.line, e.reason, e.count, e.name]).toEqual([
      'a.jsonl',
      7,
      'prompt: expected string, got number',
      1,
      'DataError',
    ]);
  });
});

describe('readJsonl', () => {
  it('reads records, ignoring blank lines, CRLF and a BOM', async () => {
    const p = file('ok.jsonl', '\uFEFF{"prompt":"a"}\r\n\n   \n{"prompt":"b","n":2,"extra":true}');
    expect(await readJsonl(p, Rec)).toEqual([{ prompt: 'a' }, { prompt: 'b', n: 2, extra: true }]);
  });

  it('returns [] for an empty file', async () => {
    expect(await readJsonl(file('e.jsonl', ''), Rec)).toEqual([]);
  });

  it('reports a single bad line exactly', async () => {
    const p = file('one.jsonl', '{"prompt":"a"}\n\n{"prompt":5}\n');
    const e = await caught(readJsonl(p, Rec));
    expect(e.message).toBe(`${p}:3: prompt: expected string, got number`);
    expect(e.line).toBe(3);
    expect(e.reason).toBe('prompt: expected string, got number');
  });

  it('collects every bad line into one error', async () => {
    const p = file(
      'bad.jsonl',
      ['{"prompt":"ok"}', '{"prompt":1}', 'not json', '{"n":1}', '[1]', '{"prompt":"ok","n":"x"}'].join('\n'),
    );
    const e = await caught(readJsonl(p, Rec));
    expect(e.count).toBe(5);
    expect(e.problems.map((x) => x.line)).toEqual([2, 3, 4, 5, 6]);
    expect(e.problems[1].reason).toMatch(/^invalid JSON \(.+\)$/);
    expect(e.message.split('\n')).toEqual([
      `${p}:2: prompt: expected string, got number`,
      `${p}:3: ${e.problems[1].reason}`,
      `${p}:4: prompt: missing (expected string)`,
      `${p}:5: expected object, got array`,
      `${p}:6: n: expected number, got string`,
      `${p}: 5 bad lines`,
    ]);
  });

  it('caps the listed problems at 20 but counts all', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => `{"prompt":${i}}`);
    const e = await caught(readJsonl(file('many.jsonl', lines.join('\n')), Rec));
    expect(e.count).toBe(25);
    expect(e.problems).toHaveLength(20);
    const msg = e.message.split('\n');
    expect(msg).toHaveLength(21);
    expect(msg[20]).toMatch(/: 25 bad lines, first 20 shown$/);
  });

  it('reports invalid UTF-8 rather than decoding it to U+FFFD', async () => {
    const p = file(
      'bin.jsonl',
      Buffer.concat([Buffer.from('{"prompt":"a"}\n{"prompt":"'), Buffer.from([0xff]), Buffer.from('"}\n')]),
    );
    const e = await caught(readJsonl(p, Rec));
    expect(e.message).toBe(`${p}:2: invalid UTF-8`);
  });

  it('lists several problems of one line joined by "; "', async () => {
    const e = await caught(readJsonl(file('two.jsonl', '{"n":"x"}\n'), Rec));
    expect(e.reason).toBe('prompt: missing (expected string); n: expected number, got string');
  });
});

describe('readJsonlLines', () => {
  it('streams entries with their line numbers across chunk boundaries', async () => {
    const big = 'x'.repeat(100_000) + '日本';
    const p = file('s.jsonl', `{"prompt":"a"}\n\n${JSON.stringify({ prompt: big })}\n{"prompt":"c"}`);
    const got: JsonlEntry<z.infer<typeof Rec>>[] = [];
    for await (const e of readJsonlLines(p, Rec)) got.push(e);
    expect(got.map((e) => e.line)).toEqual([1, 3, 4]);
    expect(got[1].value.prompt).toBe(big);
  });

  it('throws at the first bad line', async () => {
    const p = file('s2.jsonl', '{"prompt":"a"}\n{"prompt":false}\n{"prompt":3}\n');
    const seen: string[] = [];
    const run = async (): Promise<void> => {
      for await (const e of readJsonlLines(p, Rec)) seen.push(e.value.prompt);
    };
    const e = await caught(run());
    expect(e.message).toBe(`${p}:2: prompt: expected string, got boolean`);
    expect(seen).toEqual(['a']);
  });
});

describe('writing', () => {
  it('formatJsonl writes one line per record, escaping newlines', () => {
    expect(formatJsonl([{ a: 'x\ny' }, [1], 'é'])).toBe('{"a":"x\\ny"}\n[1]\n"é"\n');
    expect(() => formatJsonl([{}, undefined])).toThrow('record 1 is not JSON-serialisable (undefined)');
  });

  it('writeJsonl round-trips and leaves no temp file', async () => {
    const p = path.join(dir, 'w.jsonl');
    fs.writeFileSync(p, 'old\n');
    await writeJsonl(p, [{ prompt: 'a' }, { prompt: 'b\n😀' }]);
    expect(await readJsonl(p, Rec)).toEqual([{ prompt: 'a' }, { prompt: 'b\n😀' }]);
    expect(fs.readdirSync(dir)).toEqual(['w.jsonl']);
  });

  it('appendJsonl appends whole lines, repairing a missing trailing newline', async () => {
    const p = path.join(dir, 'q.jsonl');
    await appendJsonl(p, { prompt: 'a' });
    fs.appendFileSync(p, '{"prompt":"b"}'); // a writer that died before its newline
    await appendJsonl(p, { prompt: 'c' });
    expect(fs.readFileSync(p, 'utf8')).toBe('{"prompt":"a"}\n{"prompt":"b"}\n{"prompt":"c"}\n');
  });

  it('concurrent appends never interleave', async () => {
    const p = path.join(dir, 'c.jsonl');
    const long = 'z'.repeat(10_000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => appendJsonl(p, { prompt: `${i}${long}` })));
    const recs = await readJsonl(p, Rec);
    expect(recs).toHaveLength(50);
    expect(new Set(recs.map((r) => r.prompt)).size).toBe(50);
  });
});

describe('formats', () => {
  const pair: PreferencePair = {
    prompt: 'sort: 3 1 2',
    chosen: '1 2 3',
    rejected: '3 2 1',
    weight: 1.5,
    dpo_extra_column: 7,
    lineage: {
      chosen: { source: 'human', tier: 0 },
      rejected: { source: 'policy', tier: 3, node: 'p0', weight_version: 'v2', temperature: 0.7, seed: 11 },
      judge: { verdict: 'a', confidence: 0.9, judge: 'heuristic' },
      human_label: null,
      iteration: 0,
      minibatch: 2,
    },
  };

  it('round-trips pairs, keeping unknown top-level columns', async () => {
    const p = path.join(dir, 'pairs.jsonl');
    await writePairs(p, [pair, { prompt: 'x', chosen: '', rejected: 'y' }]);
    expect(await readPairs(p)).toEqual([pair, { prompt: 'x', chosen: '', rejected: 'y' }]);
  });

  it('names nested lineage fields and suggests misspelt ones', async () => {
    const bad = {
      prompt: 'p',
      chosen: 'a',
      rejected: 'b',
      weight: 0,
      lineage: {
        chosen: { source: 'gen', tier: 1.5, temprature: 1 },
        rejected: { source: 'human', tier: 0 },
        judge: { verdict: 'c', confidence: 2, judge: 'h' },
      },
    };
    const e = await caught(readPairs(file('bad-pairs.jsonl', JSON.stringify(bad))));
    expect(e.reason.split('; ')).toEqual([
      'weight: expected number > 0, got 0',
      'lineage.chosen.source: expected one of "human", "generator", "policy", got string "gen"',
      'lineage.chosen.tier: expected integer, got number 1.5',
      'lineage.chosen: unknown key "temprature" (did you mean "temperature"?)',
      'lineage.judge.verdict: expected one of "a", "b", "tie", got string "c"',
      'lineage.judge.confidence: expected number <= 1, got 2',
    ]);
  });

  it('writePairs validates everything before writing anything', async () => {
    const p = path.join(dir, 'never.jsonl');
    const bad = { ...pair, prompt: '' };
    const e = await caught(writePairs(p, [pair, bad]));
    expect(e.message).toBe(`${p}:2: prompt: expected non-empty string`);
    expect(fs.existsSync(p)).toBe(false);
  });

  it('reads prompts, rejecting empty ones', async () => {
    const p = file(
      'prompts.jsonl',
      '{"id":"1","prompt":"rev: abc","human_response":"cba","src":"x"}\n{"prompt":""}\n',
    );
    const e = await caught(readPrompts(p));
    expect(e.message).toBe(`${p}:2: prompt: expected non-empty string`);
    fs.writeFileSync(p, '{"id":"1","prompt":"rev: abc","human_response":"cba","src":"x"}\n');
    expect(await readPrompts(p)).toEqual([{ id: '1', prompt: 'rev: abc', human_response: 'cba', src: 'x' }]);
  });
});
