import { describe, expect, it } from 'vitest';
import { HeuristicJudge } from '../../src/judges/heuristic-judge.js';
import type { Judge, Verdict } from '../../src/judges/types.js';
import { addStats, correctPairs, emptyStats } from '../../src/tso/correction.js';
import type { CorrectionInput, Dispute, HumanFeedback, HumanLabel } from '../../src/tso/correction.js';
import { OracleFeedback } from '../../src/tso/oracle-feedback.js';
import type { Candidate } from '../../src/tso/prior.js';
import { Rng } from '../../src/tso/rng.js';
import { selectPairs } from '../../src/tso/pairs.js';
import { makeSplit } from '../../src/tso/task/index.js';

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

/** Scripted, order-consistent judge: for each unordered pair, the preferred text and confidence. */
function scriptedJudge(script: Record<string, [string, number]>): Judge {
  return {
    name: 'scripted',
    async compare(_prompt, a, b): Promise<Verdict> {
      const entry = script[`${a}|${b}`] ?? script[`${b}|${a}`];
      if (!entry) throw new Error(`unscripted pair ${a} vs ${b}`);
      const [winner, confidence] = entry;
      return { winner: winner === a ? 'a' : 'b', confidence };
    },
  };
}

const judge = scriptedJudge({
  '68|168': ['168', 0.55], // weak contradiction (below threshold): prior kept
  '68|78': ['78', 0.8], // dispute; gold says 68 → human disagrees with AI
  '68|6 8': ['68', 0.95], // agreement
  '168|78': ['168', 0.6], // agreement
  '168|6 8': ['6 8', 0.9], // dispute; gold tie → dropped
  '78|6 8': ['6 8', 0.85], // dispute; gold says '6 8' → human agrees with AI
});
const input: CorrectionInput = {
  promptId: 'q1',
  prompt: PROMPT,
  pairs: [
    [h, g1],
    [h, g2],
    [h, p],
    [g1, g2],
    [g1, p],
    [p, g2], // given in reverse order: normalised so the prior-preferred is `a`
  ],
};
const summary = (pairs: { chosen: Candidate; rejected: Candidate; decidedBy: string }[]) =>
  pairs.map((x) => `${x.chosen.id}>${x.rejected.id}:${x.decidedBy}`);

describe('correctPairs', () => {
  it('keeps agreements, sends confident contradictions to humans, and counts', async () => {
    const oracle = new OracleFeedback({ budgetPerIteration: 10 });
    const out = await correctPairs([input], { judge, human: oracle });
    expect(summary(out.pairs)).toEqual([
      'h>g1:prior',
      'h>g2:human',
      'h>p:prior',
      'g1>g2:prior',
      'p>g2:human',
    ]);
    expect(out.disputes.map((d) => d.id)).toEqual(['q1:h|g2', 'q1:g1|p', 'q1:g2|p']);
    expect(out.dropped).toMatchObject([{ reason: 'human-tie', dispute: { id: 'q1:g1|p' } }]);
    expect(out.stats).toEqual({
      comparisons: 6,
      agreements: 2,
      disputes: 3,
      humanResolved: 3,
      humanAgreedWithAi: 1,
      dropped: 1,
      skipped: 0,
      priorAiAgreement: 2 / 6,
      aiHumanAgreement: 1 / 3,
    });
    expect(oracle.spentThisIteration).toBe(3);
    const pg2 = out.pairs[4];
    expect(pg2).toMatchObject({ priorAgrees: false, tierGap: 1, humanLabel: 'chosen', disputeId: 'q1:g2|p' });
    expect(pg2.judgeVerdict).toMatchObject({ winner: 'chosen', confidence: 0.85, consistent: true });
    expect(out.pairs[0].judgeVerdict).toMatchObject({ winner: 'rejected', confidence: 0.55 });
  });

  it('respects the oracle budget and applies each fallback to the unresolved disputes', async () => {
    const expected = {
      drop: ['h>g1:prior', 'h>g2:human', 'h>p:prior', 'g1>g2:prior'],
      'trust-ai': [
        'h>g1:prior',
        'h>g2:human',
        'h>p:prior',
        'g1>g2:prior',
        'p>g1:fallback-ai',
        'p>g2:fallback-ai',
      ],
      'trust-prior': [
        'h>g1:prior',
        'h>g2:human',
        'h>p:prior',
        'g1>g2:prior',
        'g1>p:fallback-prior',
        'g2>p:fallback-prior',
      ],
    } as const;
    for (const fallback of ['drop', 'trust-ai', 'trust-prior'] as const) {
      const oracle = new OracleFeedback({ budgetPerIteration: 1 });
      const out = await correctPairs([input], { judge, human: oracle, fallback });
      expect(summary(out.pairs), fallback).toEqual(expected[fallback]);
      expect(oracle.spentThisIteration).toBe(1);
      expect(out.stats).toMatchObject({
        disputes: 3,
        humanResolved: 1,
        humanAgreedWithAi: 0,
        aiHumanAgreement: 0,
      });
      expect(out.stats.dropped).toBe(fallback === 'drop' ? 2 : 0);
    }
  });

  it('the oracle budget is per iteration and survives a checkpoint', async () => {
    const oracle = new OracleFeedback({ budgetPerIteration: 2 });
    expect(oracle.name).toMatch(/simulated/);
    await correctPairs([input], { judge, human: oracle });
    const again = await correctPairs([input], { judge, human: oracle });
    expect(again.stats.humanResolved).toBe(0); // budget already spent this iteration
    const saved = oracle.getState();
    const resumed = new OracleFeedback({ budgetPerIteration: 2 });
    resumed.setState(saved);
    expect(resumed.remaining).toBe(0);
    resumed.beginIteration(1);
    expect(resumed.remaining).toBe(2);
    expect(resumed.spentTotal).toBe(2);
    expect(() => new OracleFeedback({ budgetPerIteration: -1 })).toThrow(/budget/);
  });

  it("mode 'none' trusts the prior and never calls the judge", async () => {
    const throwing: Judge = {
      name: 'never',
      compare: async () => {
        throw new Error('judge called');
      },
    };
    const out = await correctPairs([input], { mode: 'none', judge: throwing });
    expect(summary(out.pairs)).toEqual([
      'h>g1:prior',
      'h>g2:prior',
      'h>p:prior',
      'g1>g2:prior',
      'g1>p:prior',
      'g2>p:prior',
    ]);
    expect(out.stats).toEqual(emptyStats());
    expect(out.pairs.every((x) => x.judgeVerdict === undefined)).toBe(true);
  });

  it("mode 'ai' lets a confident judge overrule the prior without humans", async () => {
    const out = await correctPairs([input], { mode: 'ai', judge });
    expect(summary(out.pairs)).toEqual([
      'h>g1:prior',
      'g2>h:ai',
      'h>p:prior',
      'g1>g2:prior',
      'p>g1:ai',
      'p>g2:ai',
    ]);
    expect(out.stats.disputes).toBe(0);
  });

  it('without a human source every dispute is unresolved; the threshold is configurable', async () => {
    const out = await correctPairs([input], { judge, fallback: 'trust-prior' });
    expect(out.stats).toMatchObject({ disputes: 3, humanResolved: 0, aiHumanAgreement: null });
    const strict = await correctPairs([input], { judge, threshold: 0.9 });
    expect(strict.disputes.map((d) => d.id)).toEqual(['q1:g1|p']);
    const loose = await correctPairs([input], { judge, threshold: 0.5 });
    expect(loose.stats.disputes).toBe(4);
    await expect(correctPairs([input], { judge, threshold: 2 })).rejects.toThrow(/threshold/);
    await expect(correctPairs([input], {})).rejects.toThrow(/needs a judge/);
  });

  it('skips same-tier and identical-text pairs, and rejects bad labels', async () => {
    const twin = cand('g1b', ' 168 ', 2);
    const same = cand('g1c', '99', 1);
    const out = await correctPairs(
      [
        {
          promptId: 'q',
          prompt: PROMPT,
          pairs: [
            [g1, twin],
            [g1, same],
          ],
        },
      ],
      { judge },
    );
    expect(out.stats.skipped).toBe(2);
    expect(out.pairs).toEqual([]);
    const liar: HumanFeedback = {
      name: 'liar',
      label: async (ds: readonly Dispute[]) => new Map(ds.map((d) => [d.id, 'maybe' as HumanLabel])),
    };
    await expect(correctPairs([input], { judge, human: liar })).rejects.toThrow(/human label/);
  });

  it('is deterministic with the heuristic judge and the oracle on generated data', async () => {
    const run = async () => {
      const inputs: CorrectionInput[] = makeSplit({ seed: 21, n: 40 }).map((ex) => {
        const cands = [
          cand(`${ex.id}-h`, ex.answer, 0),
          cand(`${ex.id}-g1`, ex.answer.slice(1) || 'x', 1),
          cand(`${ex.id}-g2`, '1' + ex.answer, 2),
          cand(`${ex.id}-p`, ex.answer.slice(0, -1) || 'y', 3),
        ];
        return {
          promptId: ex.id,
          prompt: ex.prompt,
          pairs: selectPairs(cands, { maxPairsPerPrompt: 4, rng: Rng.fromSeed(1, ex.id) }),
        };
      });
      const oracle = new OracleFeedback({ budgetPerIteration: 5 });
      return correctPairs(inputs, {
        judge: new HeuristicJudge({ seed: 3 }),
        human: oracle,
        judgeConcurrency: 3,
      });
    };
    const [x, y] = [await run(), await run()];
    expect(JSON.stringify(y)).toBe(JSON.stringify(x));
    expect(x.stats.comparisons).toBe(160);
    expect(x.stats.disputes).toBeGreaterThan(0);
    expect(x.stats.humanResolved).toBe(Math.min(5, x.stats.disputes));
  });

  it('addStats sums counts and recomputes the ratios', () => {
    const a = { ...emptyStats(), comparisons: 4, agreements: 3, humanResolved: 1, humanAgreedWithAi: 1 };
    const b = { ...emptyStats(), comparisons: 6, agreements: 2, humanResolved: 3, humanAgreedWithAi: 0 };
    expect(addStats(a, b)).toMatchObject({
      comparisons: 10,
      agreements: 5,
      priorAiAgreement: 0.5,
      aiHumanAgreement: 0.25,
    });
  });
});
