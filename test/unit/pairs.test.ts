import { describe, expect, it } from 'vitest';
import { PreferencePairSchema } from '../../src/data/formats.js';
import type { CorrectedPair } from '../../src/tso/correction.js';
import {
  bestMatrixPair,
  isVerified,
  nearDuplicate,
  pairWeight,
  scalePairs,
  selectPairs,
  toPreferenceRow,
  type SelectedPair,
} from '../../src/tso/pairs.js';
import { dedupeCandidates, policyTier, sourcesOf } from '../../src/tso/prior.js';
import type { Candidate } from '../../src/tso/prior.js';

const cand = (id: string, text: string, tier: number, extra: Partial<Candidate> = {}): Candidate => ({
  id,
  text,
  tier,
  source: tier === 0 ? 'human' : tier >= 4 ? 'policy' : 'generator',
  ...extra,
});
const ids = (pairs: SelectedPair[]) => pairs.map((p) => `${p.a.id}>${p.b.id}`);

describe('candidates', () => {
  it('puts the policy one past the last configured generator tier', () => {
    expect(policyTier([1, 3, 2])).toBe(4);
    expect(policyTier([])).toBe(1);
    expect(() => policyTier([0])).toThrow(/≥ 1/);
  });

  it('dedupes identical texts, keeping the best tier and merging lineage', () => {
    const out = dedupeCandidates([
      cand('p1', '1 3 4', 4, { node: 'policy-0', weightVersion: 'v3', seed: 7 }),
      cand('g2', '1 4 3', 2, { node: 'gen-b', model: 'small' }),
      cand('g1', ' 1 3 4', 1, { node: 'gen-a', model: 'big' }),
      cand('h', '1 3 4', 0),
      cand('g2b', '1 4 3', 2, { node: 'gen-b2' }),
    ]);
    expect(out.map((c) => c.id)).toEqual(['h', 'g2']);
    expect(out[0].duplicates?.map((l) => l.candidateId)).toEqual(['g1', 'p1']);
    expect(out[0].duplicates?.[1]).toEqual({
      candidateId: 'p1',
      source: 'policy',
      tier: 4,
      node: 'policy-0',
      weightVersion: 'v3',
      seed: 7,
    });
    expect(out[1].duplicates?.map((l) => l.candidateId)).toEqual(['g2b']); // equal tier: first appearance kept
  });
});

describe('selectPairs', () => {
  // Scores stand for the calibrated prior's log-strengths (higher = preferred).
  const pool = [
    { cand: cand('p1', '9', 4), score: -1 },
    { cand: cand('h', '68', 0), score: 3 },
    { cand: cand('g1', '168', 1), score: 1 },
    { cand: cand('g2', '78', 2), score: 0 },
    { cand: cand('p2', '67', 4), score: -0.5 },
    { cand: cand('g3', '68 ', 3, {}), score: 0.2 },
    { cand: cand('g4', ' 6  8', 3), score: -2 },
  ];

  it('takes best vs on-policy samples (worst first), then best vs worst, runner-up vs worst, then the rest', () => {
    expect(ids(selectPairs(pool, 100))).toEqual([
      'h>p1', // on-policy rejected, worst first
      'h>p2',
      'h>g4', // best vs worst
      'g1>g4', // runner-up vs worst
      'h>g2', // best vs the rest, bottom up ('h>g3' is a near-duplicate: skipped)
      'h>g1',
    ]);
    expect(ids(selectPairs(pool, 3))).toEqual(['h>p1', 'h>p2', 'h>g4']);
    expect(selectPairs(pool, 0)).toEqual([]);
    expect(selectPairs(pool.slice(0, 1), 4)).toEqual([]);
    expect(() => selectPairs(pool, 1.5)).toThrow(/maxPairsPerPrompt/);
  });

  it('carries the prior probability of the first side, from the score gap', () => {
    const [first] = selectPairs(pool, 1);
    expect(first.prior).toBeCloseTo(1 / (1 + Math.exp(-(3 - -1))), 12);
    for (const p of selectPairs(pool, 100)) expect(p.prior).toBeGreaterThanOrEqual(0.5);
  });

  it('keeps first appearance among equal scores (the self-samples case: no prior information)', () => {
    const own = [
      { cand: cand('a', '1 2 3', 4), score: 0 },
      { cand: cand('b', '1 3 2', 4), score: 0 },
      { cand: cand('c', '1 2 3 ', 4), score: 0 },
    ];
    const out = selectPairs(own, 4);
    expect(ids(out)).toEqual(['a>b']); // a~c near-duplicates
    expect(out[0].prior).toBe(0.5);
  });

  it('detects near-duplicates by folding whitespace and case only', () => {
    expect(nearDuplicate(' 1  3 4', '1 3 4')).toBe(true);
    expect(nearDuplicate('ABC', 'abc')).toBe(true);
    expect(nearDuplicate('168', '169')).toBe(false);
  });

  it('builds the sft-distill pair from the best configured tier', () => {
    const cs = [cand('p', '9', 4), cand('g2', '78', 2), cand('g1', '168', 1), cand('g1b', '68', 1)];
    const pair = bestMatrixPair(cs)!;
    expect(pair.a.id).toBe('g1');
    expect(pair.b.id).toBe('p');
    expect(bestMatrixPair([cand('p', '9', 4)])).toBeUndefined();
  });
});

describe('pair weights', () => {
  it('is 1 at the threshold, grows with confidence, capped at wMax', () => {
    expect(pairWeight(0.7, { threshold: 0.7 })).toBeCloseTo(1, 12);
    expect(pairWeight(0.8, { threshold: 0.7 })).toBeCloseTo(1.5, 12);
    expect(pairWeight(0.95, { threshold: 0.7 })).toBe(2);
    expect(pairWeight(1, { threshold: 0.7, maxWeight: 3 })).toBeCloseTo(2.5, 12);
    expect(pairWeight(0.5, { threshold: 0.7 })).toBe(0);
    const cs = [0.5, 0.6, 0.7, 0.8, 0.9, 1];
    for (let i = 1; i < cs.length; i++)
      expect(pairWeight(cs[i], { threshold: 0.7 })).toBeGreaterThanOrEqual(
        pairWeight(cs[i - 1], { threshold: 0.7 }),
      );
    expect(() => pairWeight(0.4, { threshold: 0.7 })).toThrow(/confidence/);
    expect(() => pairWeight(0.8, { threshold: 0.5 })).toThrow(/threshold/);
    expect(() => pairWeight(0.8, { threshold: 0.7, maxWeight: 0.5 })).toThrow(/maxWeight/);
  });

  const h = cand('h', '68', 0, { node: 'dataset' });
  const g = cand('g', '78', 2, {
    node: 'gen-b',
    model: 'small',
    weightVersion: 'w1',
    sampling: { temperature: 0.8 },
  });
  const pol = cand('p', '6 8', 4, {
    node: 'policy-0',
    duplicates: [{ candidateId: 'x', source: 'generator', tier: 1, model: 'large' }],
  });
  const base = { promptId: 'q1', prompt: 'add: 23+45' };
  const judged = (winner: 'chosen' | 'rejected' | 'tie', confidence: number) => ({
    judge: 'heuristic',
    winner,
    confidence,
    consistent: true,
  });
  // prettier-ignore
  const pairs: CorrectedPair[] = [
    { ...base, chosen: h, rejected: g, decidedBy: 'prior', priorAgrees: true, priorChosen: 0.9, confidence: 0.97, judgeVerdict: judged('chosen', 0.9) },
    { ...base, chosen: pol, rejected: g, decidedBy: 'human', priorAgrees: false, priorChosen: 0.3, confidence: 1, humanLabel: 'chosen', disputeId: 'q1:g|p', judgeVerdict: judged('chosen', 0.6) },
    { ...base, chosen: g, rejected: pol, decidedBy: 'prior', priorAgrees: true, priorChosen: 0.8, confidence: 0.8, judgeVerdict: judged('chosen', 0.7) },
    { ...base, chosen: pol, rejected: g, decidedBy: 'ai', priorAgrees: false, priorChosen: 0.4, confidence: 0.75, disputeId: 'q1:g|p', judgeVerdict: judged('chosen', 0.85) },
    { ...base, chosen: g, rejected: pol, decidedBy: 'prior', priorAgrees: true, priorChosen: 0.72, confidence: 0.72 },
  ];

  it('scales by final confidence, marks verified chosen sides, and no-scale gives weight 1', () => {
    const scaled = scalePairs(pairs, { threshold: 0.7 });
    expect(scaled.map((s) => s.weight)).toEqual(
      [2, 2, 0.6 / 0.4, 0.5 / 0.4, 0.44 / 0.4].map((w) => expect.closeTo(w, 12)),
    );
    // Human-written and human-labelled are verified; judge-backed pairs need a final confidence ≥ 0.9.
    expect(scaled.map((s) => s.verified)).toEqual([true, true, false, false, false]);
    expect(isVerified({ ...pairs[3], confidence: 0.95, chosenIsTop: true })).toBe(true);
    expect(isVerified({ ...pairs[3], confidence: 0.95 })).toBe(false); // better than its rival, not best
    expect(isVerified({ ...pairs[4], confidence: 0.95 })).toBe(false); // no judge verdict
    expect(scalePairs(pairs, { threshold: 0.7, scale: false }).map((s) => s.weight)).toEqual([1, 1, 1, 1, 1]);
    expect(isVerified({ ...pairs[2], chosenIsTop: true }, 0.7)).toBe(true);
    expect(
      isVerified({ ...pairs[0], chosen: g, judgeVerdict: { ...judged('chosen', 0.95), consistent: false } }),
    ).toBe(false);
  });

  it('converts to a row the data module accepts, with lineage', () => {
    const scaled = scalePairs(pairs, { threshold: 0.7 });
    const rows = scaled.map((x) => toPreferenceRow(x, { iteration: 3, minibatch: 1 }));
    for (const row of rows) expect(PreferencePairSchema.parse(row)).toEqual(row);
    expect(JSON.parse(JSON.stringify(rows[1]))).toEqual({
      id: 'q1:p>g',
      prompt: 'add: 23+45',
      chosen: '6 8',
      rejected: '78',
      weight: 2,
      decided_by: 'human',
      prior: 0.3,
      confidence: 1,
      verified: true,
      lineage: {
        chosen: { source: 'policy', tier: 4, node: 'policy-0', also_written_by: ['large'] },
        rejected: {
          source: 'generator',
          tier: 2,
          node: 'gen-b',
          model: 'small',
          weight_version: 'w1',
          temperature: 0.8,
        },
        judge: { verdict: 'a', confidence: 0.6, judge: 'heuristic' },
        human_label: 'chosen',
        iteration: 3,
        minibatch: 1,
      },
    });
    expect(sourcesOf(pol)).toEqual(['policy', 'large']);
    expect(rows[0].lineage?.human_label).toBeUndefined(); // never disputed
    expect(rows[3].lineage?.human_label).toBeNull(); // an unresolved dispute the posterior decided
    expect(rows[4].lineage?.judge).toBeUndefined(); // no judge asked
  });
});
