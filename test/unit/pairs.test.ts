import { describe, expect, it } from 'vitest';
import { PreferencePairSchema } from '../../src/data/formats.js';
import type { CorrectedPair } from '../../src/tso/correction.js';
import { pairConfidence, pairWeight, scalePairs, selectPairs, toPreferenceRow } from '../../src/tso/pairs.js';
import { dedupeCandidates, policyTier, priorPrefers, tierFor } from '../../src/tso/prior.js';
import type { Candidate } from '../../src/tso/prior.js';
import { Rng } from '../../src/tso/rng.js';

const cand = (id: string, text: string, tier: number, extra: Partial<Candidate> = {}): Candidate => ({
  id,
  text,
  tier,
  source: tier === 0 ? 'human' : tier >= 4 ? 'policy' : 'generator',
  ...extra,
});
const ids = (pairs: Array<[Candidate, Candidate]>) => pairs.map(([a, b]) => `${a.id}>${b.id}`);

describe('prior order', () => {
  it('assigns tiers: human 0, generators as configured, policy max + 1', () => {
    expect(policyTier([1, 3, 2])).toBe(4);
    expect(tierFor('human', [1, 2])).toBe(0);
    expect(tierFor('generator', [1, 2], 2)).toBe(2);
    expect(tierFor('policy', [1, 2])).toBe(3);
    expect(() => tierFor('generator', [1, 2], 5)).toThrow(/not one of/);
    expect(() => policyTier([0])).toThrow(/≥ 1/);
  });

  it('prefers the lower tier; equal tiers tie', () => {
    expect(priorPrefers({ tier: 0 }, { tier: 2 })).toBe('a');
    expect(priorPrefers({ tier: 3 }, { tier: 1 })).toBe('b');
    expect(priorPrefers({ tier: 2 }, { tier: 2 })).toBe('tie');
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
  const pool = [
    cand('p', '9', 4),
    cand('h', '68', 0),
    cand('g1', '168', 1),
    cand('g2', '78', 2),
    cand('g2x', '67', 2),
    cand('g3', ' 68 ', 3), // same text as h: never paired with it
  ];

  it('pairs each higher-ranked candidate with each lower one, in ranking order', () => {
    const all = selectPairs(pool, { maxPairsPerPrompt: 100, rng: Rng.fromSeed(1) });
    // prettier-ignore
    expect(ids(all)).toEqual([
      'h>g1', 'h>g2', 'h>g2x', 'h>p',
      'g1>g2', 'g1>g2x', 'g1>g3', 'g1>p',
      'g2>g3', 'g2>p', 'g2x>g3', 'g2x>p',
      'g3>p',
    ]);
  });

  it('caps with the seeded RNG: exact subset for a fixed seed, deterministic, still ranked', () => {
    const pick = (seed: number) =>
      ids(selectPairs(pool, { maxPairsPerPrompt: 5, rng: Rng.fromSeed(seed, 'pairs') }));
    // Golden value: changes only if the RNG, the ranking or the sampling rule changes.
    expect(pick(42)).toEqual(['h>g2', 'g1>g2', 'g1>g2x', 'g2x>p', 'g3>p']);
    const all = ids(selectPairs(pool, { maxPairsPerPrompt: 100, rng: Rng.fromSeed(1) }));
    for (const seed of [42, 43, 44]) {
      const idx = pick(seed).map((x) => all.indexOf(x));
      expect(idx.every((v, i) => v >= 0 && (i === 0 || idx[i - 1] < v))).toBe(true); // ranked subsequence
    }
    expect(pick(42)).toEqual(pick(42));
    expect(pick(43)).not.toEqual(pick(42));
    expect(pick(43)).toHaveLength(5);
    expect(selectPairs(pool, { maxPairsPerPrompt: 0, rng: Rng.fromSeed(1) })).toEqual([]);
    expect(() => selectPairs(pool, { maxPairsPerPrompt: 1.5, rng: Rng.fromSeed(1) })).toThrow(
      /maxPairsPerPrompt/,
    );
  });
});

describe('pair weights', () => {
  it('equals 1 for adjacent tiers at full confidence and follows the documented rule', () => {
    expect(pairWeight(1, 1)).toBe(1);
    expect(pairWeight(2, 1)).toBe(1.5);
    expect(pairWeight(3, 1)).toBe(2);
    expect(pairWeight(6, 1)).toBe(2); // capped at wMax
    expect(pairWeight(1, 0)).toBe(0.5);
    expect(pairWeight(3, 0.6)).toBeCloseTo(1.6, 12);
    expect(pairWeight(5, 1, { alpha: 1, maxWeight: 10 })).toBe(5);
  });

  it('is monotonic in gap and confidence and bounded by [0.5, wMax]', () => {
    const gaps = [1, 2, 3, 4, 5, 8];
    const confs = [0, 0.2, 0.5, 0.55, 0.7, 0.9, 1];
    for (const g of gaps) {
      for (const c of confs) {
        const w = pairWeight(g, c);
        expect(w).toBeGreaterThanOrEqual(0.5);
        expect(w).toBeLessThanOrEqual(2);
        expect(pairWeight(g + 1, c)).toBeGreaterThanOrEqual(w);
        expect(pairWeight(g, Math.min(1, c + 0.05))).toBeGreaterThan(w - 1e-15);
      }
    }
    expect(pairWeight(2, 0.9)).toBeGreaterThan(pairWeight(2, 0.6));
    expect(pairWeight(3, 0.6)).toBeGreaterThan(pairWeight(2, 0.6));
    expect(() => pairWeight(0, 1)).toThrow(/gap/);
    expect(() => pairWeight(1, 1.1)).toThrow(/confidence/);
    expect(() => pairWeight(1, 1, { maxWeight: 0.5 })).toThrow(/maxWeight/);
    expect(() => pairWeight(1, 1, { alpha: -1 })).toThrow(/alpha/);
  });

  const h = cand('h', '68', 0, { node: 'dataset' });
  const g = cand('g', '78', 2, {
    node: 'gen-b',
    model: 'small',
    weightVersion: 'w1',
    sampling: { temperature: 0.8 },
  });
  const pol = cand('p', '6 8', 4, { node: 'policy-0' });
  const base = { promptId: 'q1', prompt: 'add: 23+45' };
  // prettier-ignore
  const pairs: CorrectedPair[] = [
    { ...base, chosen: h, rejected: g, decidedBy: 'prior', priorAgrees: true, tierGap: 2, judgeVerdict: { judge: 'heuristic', winner: 'chosen', confidence: 0.9, consistent: true } },
    { ...base, chosen: h, rejected: pol, decidedBy: 'prior', priorAgrees: true, tierGap: 4, judgeVerdict: { judge: 'heuristic', winner: 'tie', confidence: 0, consistent: false } },
    { ...base, chosen: pol, rejected: g, decidedBy: 'human', priorAgrees: false, tierGap: 2, humanLabel: 'chosen', disputeId: 'q1:g|p', judgeVerdict: { judge: 'heuristic', winner: 'chosen', confidence: 0.85, consistent: true } },
    { ...base, chosen: pol, rejected: g, decidedBy: 'fallback-ai', priorAgrees: false, tierGap: 2, judgeVerdict: { judge: 'heuristic', winner: 'chosen', confidence: 0.8, consistent: true } },
    { ...base, chosen: g, rejected: pol, decidedBy: 'fallback-prior', priorAgrees: true, tierGap: 2, judgeVerdict: { judge: 'heuristic', winner: 'rejected', confidence: 0.8, consistent: true } },
    { ...base, chosen: g, rejected: pol, decidedBy: 'prior', priorAgrees: true, tierGap: 2 },
    { ...base, chosen: h, rejected: cand('t', ' 68', 1), decidedBy: 'prior', priorAgrees: true, tierGap: 1 },
  ];

  it('derives confidence from who decided and scales corrected pairs', () => {
    expect(pairs.map(pairConfidence)).toEqual([0.9, 0, 1, 0.8, 0, 1, 1]);
    const scaled = scalePairs(pairs);
    expect(scaled).toHaveLength(6); // the identical-text pair is skipped
    expect(scaled.map((s) => s.weight)).toEqual([
      1.5 * 0.95, // gap 2, c 0.9
      2 * 0.5, // gap 4 capped at 2, judge tie
      1, // reversed by a human: gap counts as 1, c = 1
      0.9, // reversed by fallback-ai: gap 1, c 0.8
      1.5 * 0.5, // fallback-prior: the judge named the other response
      1.5, // no judge (no-correction mode): c = 1
    ]);
  });

  it('converts to a row the data module accepts, with lineage', () => {
    const scaled = scalePairs(pairs);
    const rows = scaled.map((x) => toPreferenceRow(x, { iteration: 3, minibatch: 1 }));
    for (const row of rows) expect(PreferencePairSchema.parse(row)).toEqual(row);
    expect(JSON.parse(JSON.stringify(rows[2]))).toEqual({
      id: 'q1:p>g',
      prompt: 'add: 23+45',
      chosen: '6 8',
      rejected: '78',
      weight: 1,
      decided_by: 'human',
      tier_gap: 2,
      lineage: {
        chosen: { source: 'policy', tier: 4, node: 'policy-0' },
        rejected: {
          source: 'generator',
          tier: 2,
          node: 'gen-b',
          model: 'small',
          weight_version: 'w1',
          temperature: 0.8,
        },
        judge: { verdict: 'a', confidence: 0.85, judge: 'heuristic' },
        human_label: 'chosen',
        iteration: 3,
        minibatch: 1,
      },
    });
    expect(rows[0].lineage?.human_label).toBeUndefined(); // never disputed
    expect(rows[4].lineage?.judge?.verdict).toBe('b'); // fallback-prior: the judge preferred the rejected one
    expect(rows[5].lineage?.judge).toBeUndefined(); // no judge asked
  });

  it('marks unresolved disputes with a null human label', () => {
    const unresolved = { ...pairs[3], disputeId: 'q1:g|p' };
    expect(toPreferenceRow(scalePairs([unresolved])[0], { iteration: 0 }).lineage?.human_label).toBeNull();
  });
});
