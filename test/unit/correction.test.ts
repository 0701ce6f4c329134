import { describe, expect, it } from 'vitest';
import { HeuristicJudge } from '../../src/judges/heuristic-judge.js';
import type { Judge, Verdict } from '../../src/judges/types.js';
import { addStats, correctPairs, emptyStats } from '../../src/tso/correction.js';
import type { CorrectionInput, Dispute, HumanFeedback, HumanLabel } from '../../src/tso/correction.js';
import { OracleFeedback } from '../../src/tso/oracle-feedback.js';
import { selectPairs } from '../../src/tso/pairs.js';
import type { Candidate } from '../../src/tso/prior.js';
import { demoGold, demoPlausibility, makeSplit } from '../../src/tasks/demo/index.js';

const PROMPT = 'add: 23+45'; // gold answer 68
const cand = (id: string, text: string, tier: number): Candidate => ({
  id,
  text,
  tier,
  source: tier === 0 ? 'human' : tier === 3 ? 'policy' : 'generator',
});
// Gold scores: 68 → 1, '6 8' → 0.333, 168 → 0.333, 78 → 0.25.
const h = cand('h', '68', 0);
const g1 = cand('g1', '168', 1);
const g2 = cand('g2', '78', 2);
const p = cand('p', '6 8', 3);

/** Scripted, order-consistent judge: for each unordered pair, the preferred text (or 'tie') and confidence. */
function scriptedJudge(script: Record<string, [string, number]>): Judge {
  return {
    name: 'scripted',
    async compare(_prompt, a, b): Promise<Verdict> {
      const entry = script[`${a}|${b}`] ?? script[`${b}|${a}`];
      if (!entry) throw new Error(`unscripted pair ${a} vs ${b}`);
      const [winner, confidence] = entry;
      return { winner: winner === 'tie' ? 'tie' : winner === a ? 'a' : 'b', confidence };
    },
  };
}

const judge = scriptedJudge({
  '68|168': ['68', 0.8], // agrees with a strong prior
  '68|78': ['78', 0.8], // contradicts a strong prior: the strongest conflict
  '168|6 8': ['tie', 0.5], // no judge information on a weak prior: doubtful
  '78|6 8': ['6 8', 0.85], // contradicts a weak prior
  '168|78': ['168', 0.6], // weak agreement with a fair prior: decided
});
const input: CorrectionInput = {
  promptId: 'q1',
  prompt: PROMPT,
  category: 'add',
  pairs: [
    { a: h, b: g1, prior: 0.9 },
    { a: h, b: g2, prior: 0.8 },
    { a: g1, b: p, prior: 0.6 },
    { a: g2, b: p, prior: 0.55 },
    { a: g1, b: g2, prior: 0.7 },
  ],
};
const summary = (pairs: { chosen: Candidate; rejected: Candidate; decidedBy: string }[]) =>
  pairs.map((x) => `${x.chosen.id}>${x.rejected.id}:${x.decidedBy}`);
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (q: number) => Math.log(q / (1 - q));

describe('correctPairs', () => {
  it('decides confident agreements, sends conflicts and doubt to humans, most informative first', async () => {
    const oracle = new OracleFeedback({ budgetPerIteration: 10, score: demoGold });
    const out = await correctPairs([input], { judge, human: oracle });
    expect(summary(out.pairs)).toEqual(['h>g1:prior', 'h>g2:human', 'p>g2:human', 'g1>g2:prior']);
    // Disagreements first (strongest conflict first), then the doubtful pair.
    expect(out.disputes.map((d) => d.id)).toEqual(['q1:h|g2', 'q1:g2|p', 'q1:g1|p']);
    expect(out.stats).toEqual({
      comparisons: 5,
      agreements: 2,
      judgeTies: 1,
      disagreements: 2,
      doubtful: 1,
      disputes: 3,
      humanResolved: 3,
      humanAgreedWithAi: 1,
      dropped: 1, // the human called g1 vs p a tie
      priorAiAgreement: 2 / 5,
      aiHumanAgreement: 1 / 3,
    });
    expect(oracle.spentThisIteration).toBe(3);
    const [first, , human] = out.pairs;
    expect(first.confidence).toBeCloseTo(sigmoid(logit(0.9) + logit(0.8)), 12);
    expect(first.priorChosen).toBe(0.9);
    expect(human).toMatchObject({
      priorAgrees: false,
      priorChosen: expect.closeTo(0.45, 12),
      confidence: 1,
      humanLabel: 'chosen',
    });
    expect(human.judgeVerdict).toMatchObject({ winner: 'chosen', confidence: 0.85, consistent: true });
    expect(out.pairs[3].category).toBe('add');
    // Evidence for the calibrated prior: 4 decisive judge verdicts and 2 human a/b labels.
    expect(out.observations.filter((o) => o.by === 'ai')).toHaveLength(4);
    expect(
      out.observations.filter((o) => o.by === 'human').map((o) => `${o.winner.id}>${o.loser.id}`),
    ).toEqual(['h>g2', 'p>g2']);
  });

  it('the human budget binds and each fallback decides the unresolved disputes as documented', async () => {
    const expected = {
      posterior: ['h>g1:prior', 'h>g2:human', 'p>g2:ai', 'g1>g2:prior'],
      drop: ['h>g1:prior', 'h>g2:human', 'g1>g2:prior'],
      'trust-ai': ['h>g1:prior', 'h>g2:human', 'p>g2:fallback-ai', 'g1>g2:prior'],
      'trust-prior': [
        'h>g1:prior',
        'h>g2:human',
        'g1>p:fallback-prior',
        'g2>p:fallback-prior',
        'g1>g2:prior',
      ],
    } as const;
    for (const fallback of ['posterior', 'drop', 'trust-ai', 'trust-prior'] as const) {
      const oracle = new OracleFeedback({ budgetPerIteration: 1, score: demoGold });
      const out = await correctPairs([input], { judge, human: oracle, fallback });
      expect(summary(out.pairs), fallback).toEqual(expected[fallback]);
      expect(oracle.spentThisIteration).toBe(1);
      expect(out.stats).toMatchObject({ disputes: 3, humanResolved: 1, humanAgreedWithAi: 0 });
      expect(out.pairs.filter((x) => x.disputeId !== undefined)).toHaveLength(expected[fallback].length - 2);
    }
    const post = await correctPairs([input], {
      judge,
      human: new OracleFeedback({ budgetPerIteration: 1, score: demoGold }),
    });
    expect(post.pairs[2].confidence).toBeCloseTo(1 - sigmoid(logit(0.55) - logit(0.85)), 12);
  });

  it('the oracle budget is per iteration and survives a checkpoint', async () => {
    const oracle = new OracleFeedback({ budgetPerIteration: 2, score: demoGold });
    expect(oracle.name).toMatch(/simulated/);
    await correctPairs([input], { judge, human: oracle });
    const again = await correctPairs([input], { judge, human: oracle });
    expect(again.stats.humanResolved).toBe(0); // budget already spent this iteration
    const resumed = new OracleFeedback({ budgetPerIteration: 2, score: demoGold });
    resumed.setState(oracle.getState());
    expect(resumed.remaining).toBe(0);
    resumed.beginIteration(1);
    expect(resumed.remaining).toBe(2);
    expect(resumed.spentTotal).toBe(2);
    expect(() => new OracleFeedback({ budgetPerIteration: -1, score: demoGold })).toThrow(/budget/);
  });

  it("mode 'none' keeps the prior's order, never calls the judge, drops no-information pairs", async () => {
    const throwing: Judge = {
      name: 'never',
      compare: async () => {
        throw new Error('judge called');
      },
    };
    const flat = { ...input, pairs: [...input.pairs, { a: p, b: cand('p2', '6', 3), prior: 0.5 }] };
    const out = await correctPairs([flat], { mode: 'none', judge: throwing });
    expect(summary(out.pairs)).toEqual([
      'h>g1:prior',
      'h>g2:prior',
      'g1>p:prior',
      'g2>p:prior',
      'g1>g2:prior',
    ]);
    expect(out.pairs.map((x) => x.confidence)).toEqual([0.9, 0.8, 0.6, 0.55, 0.7]);
    expect(out.stats).toEqual({ ...emptyStats(), dropped: 1 });
    expect(out.pairs.every((x) => x.judgeVerdict === undefined)).toBe(true);
  });

  it("mode 'ai' asks no human: the posterior decides, a deadlock is dropped", async () => {
    const human: HumanFeedback = {
      name: 'never',
      label: async () => {
        throw new Error('human asked');
      },
    };
    const out = await correctPairs([input], { mode: 'ai', judge, human });
    // h vs g2: logit(0.8) − logit(0.8) = 0 → dropped; g2 vs p: the judge outweighs a weak prior.
    expect(summary(out.pairs)).toEqual(['h>g1:prior', 'p>g2:ai', 'g1>g2:prior']);
    expect(out.stats.dropped).toBe(2);
  });

  it('the threshold and the judge weight are configurable and checked', async () => {
    const strict = await correctPairs([input], { judge, threshold: 0.9 });
    expect(strict.disputes.map((d) => d.id)).toContain('q1:g1|g2'); // 0.78 < 0.9: now doubtful
    const deaf = await correctPairs([input], { mode: 'ai', judge, judgeWeight: 0 });
    expect(summary(deaf.pairs)).toEqual(['h>g1:prior', 'h>g2:prior', 'g1>g2:prior']); // prior alone ≥ 0.7
    await expect(correctPairs([input], { judge, threshold: 0.5 })).rejects.toThrow(/threshold/);
    await expect(correctPairs([input], { judge, judgeWeight: -1 })).rejects.toThrow(/judgeWeight/);
    await expect(correctPairs([input], {})).rejects.toThrow(/needs a judge/);
    const liar: HumanFeedback = {
      name: 'liar',
      label: async (ds: readonly Dispute[]) => new Map(ds.map((d) => [d.id, 'maybe' as HumanLabel])),
    };
    await expect(correctPairs([input], { judge, human: liar })).rejects.toThrow(/human label/);
  });

  it('is deterministic with the heuristic judge and the oracle on generated data', async () => {
    let selected = 0;
    const run = async () => {
      const inputs: CorrectionInput[] = makeSplit({ seed: 21, n: 40 }).map((ex) => {
        const scored = [
          { cand: cand(`${ex.id}-h`, ex.answer, 0), score: 2 },
          { cand: cand(`${ex.id}-g1`, ex.answer.slice(1) || 'x', 1), score: 1 },
          { cand: cand(`${ex.id}-g2`, '1' + ex.answer, 2), score: 0 },
          { cand: cand(`${ex.id}-p`, ex.answer.slice(0, -1) || 'y', 3), score: -1 },
        ];
        return { promptId: ex.id, prompt: ex.prompt, pairs: selectPairs(scored, 4) };
      });
      const oracle = new OracleFeedback({ budgetPerIteration: 5, score: demoGold });
      selected = inputs.reduce((n, x) => n + x.pairs.length, 0);
      return correctPairs(inputs, {
        judge: new HeuristicJudge({ seed: 3, task: { plausibility: demoPlausibility } }),
        human: oracle,
        judgeConcurrency: 3,
      });
    };
    const [x, y] = [await run(), await run()];
    expect(JSON.stringify(y)).toBe(JSON.stringify(x));
    expect(x.stats.comparisons).toBe(selected); // every selected pair is judged
    expect(selected).toBeGreaterThan(100);
    expect(x.stats.disputes).toBeGreaterThan(0);
    expect(x.stats.humanResolved).toBe(Math.min(5, x.stats.disputes));
  });

  it('addStats sums counts and recomputes the ratios', () => {
    const a = { ...emptyStats(), comparisons: 4, agreements: 3, humanResolved: 1, humanAgreedWithAi: 1 };
    const b = {
      ...emptyStats(),
      comparisons: 6,
      agreements: 2,
      humanResolved: 3,
      humanAgreedWithAi: 0,
      doubtful: 2,
    };
    expect(addStats(a, b)).toMatchObject({
      comparisons: 10,
      agreements: 5,
      doubtful: 2,
      priorAiAgreement: 0.5,
      aiHumanAgreement: 0.25,
    });
  });
});

describe('correctPairs without prior information', () => {
  it('lets the judge decide pairs whose prior is 0.5 (two samples of one source)', async () => {
    const a = cand('s1', '1 3 2', 3);
    const b = cand('s2', '1 2 3', 3);
    const sortJudge = scriptedJudge({ '1 3 2|1 2 3': ['1 2 3', 0.9] });
    const out = await correctPairs(
      [{ promptId: 'q', prompt: 'sort: 3 1 2', pairs: [{ a, b, prior: 0.5 }] }],
      {
        judge: sortJudge,
      },
    );
    expect(summary(out.pairs)).toEqual(['s2>s1:ai']);
    expect(out.pairs[0].confidence).toBeCloseTo(0.9, 12);
    expect(out.stats.disputes).toBe(0);
  });
});
