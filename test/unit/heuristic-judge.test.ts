import { describe, expect, it } from 'vitest';
import { combineOrders, compareBothOrders } from '../../src/judges/both-orders.js';
import { HeuristicJudge } from '../../src/judges/heuristic-judge.js';
import { demoPlausibility, plausibility } from '../../src/tasks/demo/plausibility.js';
import type { Judge, Verdict } from '../../src/judges/types.js';
import { goldScore, makeSplit, parseTaskPrompt } from '../../src/tasks/demo/index.js';
import type { ParsedPrompt } from '../../src/tasks/demo/index.js';

// The heuristic judge reads the demo task's cheap checks through the Task interface.
const DEMO = { plausibility: demoPlausibility };

const parsed = (p: string): ParsedPrompt => {
  const x = parseTaskPrompt(p);
  if (!x) throw new Error(p);
  return x;
};

/** A wrong response the cheap checks can see: drop the last character. */
const visiblyWrong = (answer: string): string => answer.slice(0, -1) || 'x';

describe('plausibility checks', () => {
  it('scores gold answers 1 and sees some errors but not others', () => {
    for (const ex of makeSplit({ seed: 11, n: 300 }))
      expect(plausibility(parsed(ex.prompt), ex.answer)).toBe(1);
    const add = parsed('add: 23+45');
    expect(plausibility(add, '67')).toBe(0.75); // last digit wrong
    expect(plausibility(add, '78')).toBe(1); // blind spot: tens digit unchecked
    expect(plausibility(add, '068')).toBe(0.75); // leading zero
    expect(plausibility(add, 'sixty')).toBe(0);
    const rev = parsed('rev: abcd');
    expect(plausibility(rev, 'dbca')).toBe(1); // blind spot: middle unchecked
    expect(plausibility(rev, 'abcd')).toBe(0.6);
    const sort = parsed('sort: 4 1 3');
    expect(plausibility(sort, '4 1 3')).toBe(0.8);
    expect(plausibility(sort, '1 3')).toBe(0.6);
    expect(plausibility(sort, '')).toBe(0);
  });

  it('still makes sense at the top of the new ranges: 9-digit sorts, 10-letter revs, 3-digit adds', () => {
    const sort = parsed('sort: 9 0 8 1 7 2 6 3 5');
    expect(plausibility(sort, '0 1 2 3 5 6 7 8 9')).toBe(1);
    expect(plausibility(sort, '0 1 2 3 5 6 7 9 8')).toBe(0.8); // not ascending
    expect(plausibility(sort, '0 1 2 3 4 6 7 8 9')).toBe(0.8); // a digit changed
    expect(plausibility(sort, '0 1 2 3 5 6 7 8')).toBe(0.6); // one short
    const rev = parsed('rev: abcdefghij');
    expect(plausibility(rev, 'jihgfedcba')).toBe(1);
    expect(plausibility(rev, 'jhigfedcba')).toBe(1); // blind spot: middle unchecked
    expect(plausibility(rev, 'jihgfedcb')).toBe(0.4);
    const add = parsed('add: 999+999');
    expect(plausibility(add, '1998')).toBe(1);
    expect(plausibility(add, '1988')).toBe(1); // blind spot: tens unchecked
    expect(plausibility(add, '1999')).toBe(0.5); // last digit wrong and above the largest sum
    expect(plausibility(add, '2008')).toBe(0.75); // above the largest possible sum
    const carry = parsed('add: 123+45');
    expect(plausibility(carry, '168')).toBe(1);
    expect(plausibility(carry, '268')).toBe(1); // blind spot: hundreds unchecked
    expect(plausibility(carry, '118')).toBe(0.75); // below the larger operand
  });
});

describe('HeuristicJudge', () => {
  const clean = new HeuristicJudge({ task: DEMO, errorRate: 0 });

  it('prefers the more plausible response, less confidently for near-ties', () => {
    const far = clean.judge('add: 23+45', '68', 'sixty');
    const near = clean.judge('add: 23+45', '68', '67');
    expect(far.winner).toBe('a');
    expect(near.winner).toBe('a');
    expect(far.confidence).toBe(1);
    expect(near.confidence).toBe(0.625);
    expect(clean.judge('add: 23+45', '67', '68').winner).toBe('b');
    expect(clean.judge('rev: abcd', 'dcba', 'dbca')).toMatchObject({ winner: 'tie', confidence: 0.5 });
  });

  it('has a documented length bias: the longer of two equally plausible answers wins', () => {
    let longer = 0;
    let total = 0;
    for (const ex of makeSplit({ seed: 12, n: 300, kinds: ['add'] })) {
      if (Number(ex.answer) > 998) continue;
      const padded = '1' + ex.answer; // plausible to the cheap checks, and wrong
      const v1 = clean.judge(ex.prompt, ex.answer, padded);
      const v2 = clean.judge(ex.prompt, padded, ex.answer);
      total += 2;
      if (v1.winner === 'b') longer++;
      if (v2.winner === 'a') longer++;
      expect(v1.confidence).toBe(0.55);
      expect(goldScore(ex.prompt, padded)).toBeLessThan(goldScore(ex.prompt, ex.answer));
    }
    expect(total).toBeGreaterThan(250);
    expect(longer).toBe(total);
  });

  it('keeps its length bias through both orders (it is not a position bias)', async () => {
    const judge = new HeuristicJudge({ task: DEMO, seed: 1 });
    let longer = 0;
    let n = 0;
    for (const ex of makeSplit({ seed: 15, n: 400, kinds: ['add'] })) {
      if (Number(ex.answer) > 998) continue;
      const out = await compareBothOrders(judge, ex.prompt, ex.answer, '1' + ex.answer);
      n++;
      if (out.winner === 'b') longer++;
    }
    // Both orders agree unless one of the two independent coins flips: ≈ 0.85² ≈ 72%.
    expect(longer / n).toBeGreaterThan(0.6);
    expect(longer / n).toBeLessThan(0.85);
  });

  it('flips decisive verdicts at its documented error rate (±3% over 2000 comparisons)', async () => {
    for (const errorRate of [0.15, 0.3]) {
      const noisy = new HeuristicJudge({ task: DEMO, seed: 'err', errorRate });
      let flips = 0;
      let n = 0;
      for (const ex of makeSplit({ seed: 13, n: 1000 })) {
        const wrong = visiblyWrong(ex.answer);
        for (const [a, b] of [
          [ex.answer, wrong],
          [wrong, ex.answer],
        ]) {
          const truth = clean.judge(ex.prompt, a, b);
          expect(truth.winner).not.toBe('tie');
          const v = await noisy.compare(ex.prompt, a, b);
          if (v.winner !== truth.winner) flips++;
          expect(v.confidence).toBe(truth.confidence); // confidently wrong
          n++;
        }
      }
      expect(n).toBe(2000);
      expect(Math.abs(flips / n - errorRate)).toBeLessThan(0.03);
    }
  });

  it('is deterministic by seed and inputs, regardless of call order', () => {
    const ex = makeSplit({ seed: 14, n: 200 });
    const q = ex.map((e) => [e.prompt, e.answer, visiblyWrong(e.answer)] as const);
    const j1 = new HeuristicJudge({ task: DEMO, seed: 5 });
    const j2 = new HeuristicJudge({ task: DEMO, seed: 5 });
    const forward = q.map(([p, a, b]) => j1.judge(p, a, b));
    const backward = [...q]
      .reverse()
      .map(([p, a, b]) => j2.judge(p, a, b))
      .reverse();
    expect(backward).toEqual(forward);
    const other = q.map(([p, a, b]) => new HeuristicJudge({ task: DEMO, seed: 6 }).judge(p, a, b));
    expect(other.map((v) => v.winner)).not.toEqual(forward.map((v) => v.winner));
  });

  it('has no opinion on prompts outside the grammar and validates options', () => {
    expect(clean.judge('translate: hi', 'a', 'bb')).toMatchObject({ winner: 'tie', confidence: 0 });
    expect(() => new HeuristicJudge({ task: DEMO, errorRate: 1.5 })).toThrow(/errorRate/);
    expect(() => new HeuristicJudge({ task: DEMO, lengthBiasConfidence: -0.1 })).toThrow(
      /lengthBiasConfidence/,
    );
  });
});

describe('compareBothOrders', () => {
  const v = (winner: Verdict['winner'], confidence: number, unparsable = false): Verdict =>
    unparsable ? { winner, confidence, unparsable } : { winner, confidence };

  it('cancels a judge with pure position bias', async () => {
    const firstShown: Judge = { name: 'first', compare: async () => v('a', 0.9) };
    const lastShown: Judge = { name: 'last', compare: async () => v('b', 0.8) };
    for (const judge of [firstShown, lastShown]) {
      const out = await compareBothOrders(judge, 'add: 1+2', '3', '4');
      expect(out).toMatchObject({ winner: 'tie', confidence: 0, consistent: false });
    }
  });

  it('keeps a consistent judge and averages its confidence', async () => {
    const gold: Judge = {
      name: 'gold',
      compare: async (p, a, b) => {
        const [sa, sb] = [goldScore(p, a), goldScore(p, b)];
        return sa === sb ? v('tie', 0.5) : v(sa > sb ? 'a' : 'b', sa > sb ? 0.9 : 0.7);
      },
    };
    expect(await compareBothOrders(gold, 'add: 23+45', '68', '67')).toMatchObject({
      winner: 'a',
      confidence: 0.8,
      consistent: true,
    });
    expect(await compareBothOrders(gold, 'add: 23+45', '67', '68')).toMatchObject({
      winner: 'b',
      confidence: 0.8,
    });
  });

  it('combines ties and unparsable answers as documented', () => {
    // A tie in one order adds nothing to the other order's verdict: 0.9 'a' + tie stays below 0.7.
    expect(combineOrders(v('a', 0.8), v('tie', 0.5))).toMatchObject({ winner: 'a', confidence: 0.4 });
    expect(combineOrders(v('tie', 0.9), v('b', 0.9))).toMatchObject({ winner: 'a', confidence: 0.45 });
    expect(combineOrders(v('a', 0.9), v('tie', 0.5)).confidence).toBeLessThan(0.7);
    expect(combineOrders(v('tie', 0.4), v('tie', 0.6))).toMatchObject({ winner: 'tie', confidence: 0.5 });
    // backward 'a' means the second-shown (our b) won
    expect(combineOrders(v('b', 0.6), v('a', 1))).toMatchObject({
      winner: 'b',
      confidence: 0.8,
      consistent: true,
    });
    expect(combineOrders(v('a', 0.9), v('a', 0.9, true))).toMatchObject({ winner: 'a', confidence: 0.45 });
    const both = combineOrders(v('a', 0.9, true), v('b', 0.9, true));
    expect(both).toMatchObject({ winner: 'tie', confidence: 0, unparsable: true });
  });

  it('rejects malformed verdicts from a judge', async () => {
    const bad: Judge = { name: 'bad', compare: async () => ({ winner: 'a', confidence: 2 }) };
    await expect(compareBothOrders(bad, 'add: 1+2', '3', '4')).rejects.toThrow(/confidence/);
  });
});
