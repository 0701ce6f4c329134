import { describe, expect, it } from 'vitest';
import {
  HELDOUT_FRACTION,
  HELDOUT_SET_SIZE,
  TSO_FRACTION,
  categoryOf,
  formatPrompt,
  goldScore,
  isExact,
  levenshtein,
  makeDataset,
  heldoutPrompts,
  heldoutSet,
  kindOf,
  levelOf,
  makeSplit,
  parseTaskPrompt,
  partitionOf,
  solve,
  toJsonl,
} from '../../src/tasks/demo/index.js';

describe('demo task grammar', () => {
  it('parses and solves the three kinds exactly', () => {
    expect(parseTaskPrompt('sort: 4 1 3')).toEqual({ kind: 'sort', digits: [4, 1, 3] });
    expect(solve('sort: 4 1 3')).toBe('1 3 4');
    expect(solve('sort: 9 0 9 1 0 5')).toBe('0 0 1 5 9 9');
    expect(parseTaskPrompt('rev: abcd')).toEqual({ kind: 'rev', letters: 'abcd' });
    expect(solve('rev: abcd')).toBe('dcba');
    expect(parseTaskPrompt('add: 23+45')).toEqual({ kind: 'add', x: 23, y: 45 });
    expect(solve('add: 23+45')).toBe('68');
    expect(solve('add: 99+99')).toBe('198');
    expect(solve('add: 0+0')).toBe('0');
    expect(solve('add: 123+45')).toBe('168');
    expect(solve('add: 999+999')).toBe('1998');
    expect(solve('sort: 9 8 7 6 5 4 3 2 1')).toBe('1 2 3 4 5 6 7 8 9');
    expect(solve('rev: abcdefghij')).toBe('jihgfedcba');
  });

  it('gives kind and level from the prompt text alone', () => {
    const cases: [string, string, string][] = [
      ['sort: 1 2 3', 'sort', 'easy'],
      ['sort: 1 2 3 4', 'sort', 'easy'],
      ['sort: 1 2 3 4 5', 'sort', 'medium'],
      ['sort: 1 2 3 4 5 6', 'sort', 'medium'],
      ['sort: 1 2 3 4 5 6 7', 'sort', 'hard'],
      ['sort: 1 2 3 4 5 6 7 8 9', 'sort', 'hard'],
      ['rev: abcde', 'rev', 'easy'],
      ['rev: abcdef', 'rev', 'medium'],
      ['rev: abcdefgh', 'rev', 'medium'],
      ['rev: abcdefghi', 'rev', 'hard'],
      ['add: 9+0', 'add', 'easy'],
      ['add: 3+10', 'add', 'medium'],
      ['add: 99+99', 'add', 'medium'],
      ['add: 5+100', 'add', 'hard'],
    ];
    for (const [p, kind, level] of cases) {
      expect(kindOf(p), p).toBe(kind);
      expect(levelOf(p), p).toBe(level);
      expect(categoryOf(p), p).toEqual({ kind, level });
    }
    expect(kindOf('hello')).toBeNull();
    expect(levelOf('sort: 1 2')).toBeNull();
    expect(categoryOf('add: 1000+1')).toBeNull();
  });

  it('returns null for anything outside the grammar', () => {
    const foreign = [
      'sort: 4 1',
      'sort: 1 2 3 4 5 6 7 8 9 0',
      'sort: 4  1 3',
      'sort: 4 1 3 ',
      ' sort: 4 1 3',
      'sort: 4 12 3',
      'sort:4 1 3',
      'rev: ab',
      'rev: abcdefghijk',
      'rev: ABC',
      'rev: ab1',
      'add: 1000+1',
      'add: 05+3',
      'add: 1+012',
      'add: 1 + 2',
      'add: -1+2',
      'Add: 1+2',
      'hello',
      '',
    ];
    for (const p of foreign) expect(parseTaskPrompt(p), p).toBeNull();
  });

  it('solve throws a clear error for foreign prompts', () => {
    expect(() => solve('translate: hello')).toThrow(/not in the grammar/);
  });
});

describe('gold score', () => {
  it('gives 1 for the exact answer, ignoring surrounding whitespace', () => {
    expect(goldScore('add: 23+45', '68')).toBe(1);
    expect(goldScore('add: 23+45', ' 68\n')).toBe(1);
    expect(isExact('rev: abcd', 'dcba ')).toBe(true);
    expect(isExact('rev: abcd', 'dcb a')).toBe(false);
  });

  it('gives 0.5 × normalised similarity otherwise', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(goldScore('add: 23+45', '69')).toBeCloseTo(0.25, 12); // 1 edit of 2
    expect(goldScore('add: 23+45', '168')).toBeCloseTo(0.5 * (2 / 3), 12); // 1 edit, max len 3
    expect(goldScore('rev: abcd', 'dcab')).toBeCloseTo(0.25, 12); // 2 edits of 4
    expect(goldScore('sort: 4 1 3', '')).toBe(0);
    expect(goldScore('sort: 4 1 3', 'xyz')).toBe(0);
  });

  it('never gives a wrong answer 0.5 or more', () => {
    for (const ex of makeSplit({ seed: 5, n: 300 })) {
      for (const wrong of [ex.answer + '0', ex.answer.slice(1), 'x' + ex.answer.slice(1), ex.answer + ' ']) {
        const s = goldScore(ex.prompt, wrong);
        if (wrong.trim() === ex.answer) expect(s).toBe(1);
        else expect(s).toBeLessThan(0.5);
      }
    }
  });

  it('throws for prompts outside the grammar', () => {
    expect(() => goldScore('sort: 1 2', '1 2')).toThrow(/not in the grammar/);
  });
});

describe('splits', () => {
  it('every generated prompt round-trips through the grammar and solve gives its answer', () => {
    const all = [
      ...makeSplit({ seed: 1, n: 900 }),
      ...makeSplit({ seed: 1, n: 300, split: 'sft', unique: false }),
      ...heldoutSet(),
    ];
    for (const ex of all) {
      const parsed = parseTaskPrompt(ex.prompt);
      expect(parsed, ex.prompt).not.toBeNull();
      expect(parsed?.kind).toBe(ex.kind);
      expect(levelOf(ex.prompt)).toBe(ex.level);
      if (parsed) expect(formatPrompt(parsed)).toBe(ex.prompt);
      expect(solve(ex.prompt)).toBe(ex.answer);
      expect(goldScore(ex.prompt, ex.answer)).toBe(1);
    }
  });

  it('cycles kinds round-robin, covers the ranges, and has unique prompts and ids', () => {
    const train = makeSplit({ seed: 2, n: 3000 });
    expect(train.slice(0, 6).map((e) => e.kind)).toEqual(['sort', 'rev', 'add', 'sort', 'rev', 'add']);
    expect(new Set(train.map((e) => e.prompt)).size).toBe(train.length);
    expect(new Set(train.map((e) => e.id)).size).toBe(train.length);
    const sortLens = new Set<number>();
    const revLens = new Set<number>();
    let maxAdd = 0;
    for (const e of train) {
      const p = parseTaskPrompt(e.prompt);
      if (p?.kind === 'sort') sortLens.add(p.digits.length);
      if (p?.kind === 'rev') revLens.add(p.letters.length);
      if (p?.kind === 'add') maxAdd = Math.max(maxAdd, p.x, p.y);
    }
    expect([...sortLens].sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect([...revLens].sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(maxAdd).toBeGreaterThan(990);
    const adds = makeSplit({ seed: 2, n: 50, kinds: ['add'] });
    expect(adds.every((e) => e.kind === 'add')).toBe(true);
  });

  it('draws each level about a third of the time (easy add, a pool of ~20, runs out and gives way)', () => {
    const rows = makeSplit({ seed: 5, n: 3000, split: 'sft', unique: false });
    for (const kind of ['sort', 'rev', 'add']) {
      const ofKind = rows.filter((e) => e.kind === kind);
      for (const level of ['easy', 'medium', 'hard']) {
        const share = ofKind.filter((e) => e.level === level).length / ofKind.length;
        expect(Math.abs(share - 1 / 3), `${kind}/${level}`).toBeLessThan(0.06);
      }
    }
    const tso = makeSplit({ seed: 5, n: 1500, kinds: ['add'] });
    const easy = tso.filter((e) => e.level === 'easy');
    expect(easy.length).toBeGreaterThan(5);
    expect(easy.length).toBeLessThan(40); // the whole tso share of the 100 easy adds
    for (const level of ['medium', 'hard'])
      expect(tso.filter((e) => e.level === level).length).toBeGreaterThan(600);
  });

  it('is deterministic by seed', () => {
    expect(makeSplit({ seed: 9, n: 100 })).toEqual(makeSplit({ seed: 9, n: 100 }));
    expect(makeSplit({ seed: 9, n: 100 })).not.toEqual(makeSplit({ seed: 10, n: 100 }));
  });

  it('sft, tso and held-out never overlap, whatever their seeds', () => {
    const sft = new Set(
      [0, 1, 2].flatMap((seed) =>
        makeSplit({ seed, n: 3000, split: 'sft', unique: false }).map((e) => e.prompt),
      ),
    );
    const tso = new Set([0, 1, 2].flatMap((seed) => makeSplit({ seed, n: 2000 }).map((e) => e.prompt)));
    const held = [0, 4].flatMap((seed) =>
      makeSplit({ seed, n: 1000, split: 'heldout' }).map((e) => e.prompt),
    );
    for (const p of [...held, ...heldoutSet().map((e) => e.prompt)]) {
      expect(sft.has(p) || tso.has(p)).toBe(false);
      expect(partitionOf(p)).toBe('heldout');
    }
    for (const p of tso) {
      expect(sft.has(p)).toBe(false);
      expect(partitionOf(p)).toBe('tso');
    }
    for (const p of sft) expect(partitionOf(p)).toBe('sft');
  });

  it('gives each partition about its share of the prompt space', () => {
    const counts = { sft: 0, tso: 0, heldout: 0 };
    for (let x = 0; x <= 99; x++) for (let y = 0; y <= 99; y++) counts[partitionOf(`add: ${x}+${y}`)]++;
    expect(Math.abs(counts.heldout / 10_000 - HELDOUT_FRACTION)).toBeLessThan(0.02);
    expect(Math.abs(counts.tso / 10_000 - TSO_FRACTION)).toBeLessThan(0.02);
  });

  it('fails clearly when the prompt space is exhausted, and on bad options', () => {
    // Only ~20% of the 10,100 one- and two-digit adds are in the tso partition.
    expect(() => makeSplit({ seed: 1, n: 1000, kinds: ['add'], split: 'tso' })).not.toThrow();
    expect(() => makeSplit({ seed: 1, n: 10, kinds: ['add'], split: 'bogus' as 'tso' })).toThrow(
      /unknown split/,
    );
    expect(() => makeSplit({ seed: 1, n: -1 })).toThrow(/non-negative/);
    expect(() => makeSplit({ seed: 1, n: 3, kinds: [] })).toThrow(/empty/);
    expect(() => heldoutPrompts(HELDOUT_SET_SIZE + 1)).toThrow(/fixed held-out set has 1200/);
  });
});

describe('the fixed held-out set', () => {
  it('is seed-independent, round-robin over kinds, at least 400 per kind, ~1/3 per level', () => {
    const set = heldoutSet();
    expect(set).toHaveLength(HELDOUT_SET_SIZE);
    expect(new Set(set.map((e) => e.prompt)).size).toBe(set.length);
    set.forEach((e, i) => expect(e.kind).toBe(['sort', 'rev', 'add'][i % 3]));
    for (const kind of ['sort', 'rev', 'add']) {
      const ofKind = set.filter((e) => e.kind === kind);
      expect(ofKind).toHaveLength(400);
      for (const level of ['medium', 'hard'])
        expect(ofKind.filter((e) => e.level === level).length).toBeGreaterThan(100);
    }
    expect(set.filter((e) => e.kind === 'add' && e.level === 'easy').length).toBeGreaterThan(5);
  });

  it('hands out balanced prefixes, optionally of some kinds', () => {
    expect(heldoutPrompts(300)).toEqual(heldoutSet().slice(0, 300));
    const adds = heldoutPrompts(400, ['add']);
    expect(adds.every((e) => e.kind === 'add')).toBe(true);
    expect(adds).toEqual(heldoutSet().filter((e) => e.kind === 'add'));
  });
});

describe('makeDataset', () => {
  it('gives a seeded, exact fraction of rows the gold answer as human_response', () => {
    const rows = makeDataset({ seed: 3, n: 200, humanFraction: 0.3 });
    const split = makeSplit({ seed: 3, n: 200 });
    expect(rows.map((r) => r.prompt)).toEqual(split.map((e) => e.prompt));
    const human = rows.filter((r) => r.human_response !== undefined);
    expect(human).toHaveLength(60);
    for (const r of human) expect(r.human_response).toBe(solve(r.prompt));
    expect(makeDataset({ seed: 3, n: 200, humanFraction: 0.3 })).toEqual(rows);
    const other = makeDataset({ seed: 4, n: 200, humanFraction: 0.3 });
    expect(other.filter((r) => r.human_response).map((r) => r.id)).not.toEqual(human.map((r) => r.id));
    expect(makeDataset({ seed: 3, n: 10 }).every((r) => !('human_response' in r))).toBe(true);
    expect(() => makeDataset({ seed: 3, n: 10, humanFraction: 1.5 })).toThrow(/humanFraction/);
  });

  it('serialises as JSONL rows {id, prompt, human_response?}', () => {
    const rows = makeDataset({ seed: 3, n: 4, humanFraction: 0.5 });
    const lines = toJsonl(rows).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toEqual(rows);
    for (const r of parsed)
      expect(Object.keys(r).every((k) => ['id', 'prompt', 'human_response'].includes(k))).toBe(true);
  });
});
