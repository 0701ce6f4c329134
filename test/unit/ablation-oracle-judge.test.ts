// The oracle judge (upper bound of the oracle-labels ablation): the gold scorer's order, never
// selectable from a node config.
import { describe, expect, it } from 'vitest';
import { compareBothOrders } from '../../src/judges/both-orders.js';
import { makeJudge } from '../../src/judges/make-judge.js';
import { OracleJudge } from '../../src/judges/oracle-judge.js';
import { demoGold, goldScore, makeSplit } from '../../src/tasks/demo/index.js';

describe('oracle judge', () => {
  const judge = new OracleJudge(demoGold);
  const ex = makeSplit({ seed: 5, n: 6, split: 'heldout' });

  it('prefers the higher gold score with confidence 1, in both positions', async () => {
    for (const e of ex) {
      const wrong = e.answer.slice(1) || 'x';
      expect(goldScore(e.prompt, e.answer)).toBeGreaterThan(goldScore(e.prompt, wrong));
      expect(await judge.compare(e.prompt, e.answer, wrong)).toMatchObject({ winner: 'a', confidence: 1 });
      expect(await judge.compare(e.prompt, wrong, e.answer)).toMatchObject({ winner: 'b', confidence: 1 });
      expect(await compareBothOrders(judge, e.prompt, wrong, e.answer)).toMatchObject({
        winner: 'b',
        confidence: 1,
        consistent: true,
      });
    }
  });

  it('says tie when the gold scores are equal', async () => {
    const e = ex[0];
    expect((await judge.compare(e.prompt, e.answer, ` ${e.answer} `)).winner).toBe('tie');
  });

  it('is named as an oracle and fails loudly outside the task', async () => {
    expect(judge.name).toMatch(/oracle/);
    await expect(judge.compare('write a poem', 'a', 'b')).rejects.toThrow(/oracle judge: no gold answer/);
  });

  it('cannot be selected from a node config', async () => {
    await expect(makeJudge({ type: 'oracle' })).rejects.toThrow();
  });
});
