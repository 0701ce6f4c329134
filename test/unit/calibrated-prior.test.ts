import { describe, expect, it } from 'vitest';
import { CalibratedPrior, DEFAULT_PRIOR } from '../../src/tso/calibrated-prior.js';

function matrixPrior(o = DEFAULT_PRIOR): CalibratedPrior {
  const p = new CalibratedPrior(o);
  p.registerSource('human', 0);
  p.registerSource('large', 1);
  p.registerSource('expert', 2);
  p.registerSource('small', 3);
  p.registerSource('policy', 4);
  return p;
}

describe('CalibratedPrior', () => {
  it('starts from the configured tiers (the exact Bradley–Terry answer for two sources)', () => {
    const two = new CalibratedPrior();
    two.registerSource('a', 1);
    two.registerSource('b', 2);
    // wins a→b = 4·0.75 (+floor), b→a = 4·0.25 (+floor): P = w_ab / (w_ab + w_ba).
    expect(two.probability(undefined, ['a'], ['b'])).toBeCloseTo(3.001 / 4.002, 9);
    const p = matrixPrior();
    expect(p.probability('sort', ['human'], ['large'])).toBeGreaterThan(0.5);
    expect(p.probability('sort', ['large'], ['small'])).toBeGreaterThan(
      p.probability('sort', ['large'], ['expert']),
    );
    expect(p.probability('sort', ['small'], ['policy'])).toBeGreaterThan(0.5);
    expect(p.probability('sort', ['policy'], ['policy'])).toBe(0.5);
  });

  it('learns from verdicts: a member the policy has outgrown stops being preferred', () => {
    const p = matrixPrior();
    for (let i = 0; i < 20; i++) p.observeJudge('sort', ['policy'], ['small'], 0.9);
    expect(p.probability('sort', ['small'], ['policy'])).toBeLessThan(0.3);
    // Categories are kept apart: evidence on sort does not move add.
    expect(p.probability('add', ['small'], ['policy'])).toBeGreaterThan(0.5);
    // The pooled '*' category sees every observation.
    expect(p.probability(undefined, ['small'], ['policy'])).toBeLessThan(0.5);
  });

  it('finds a specialist per category: strong on its kind, weak on the others', () => {
    const p = matrixPrior();
    for (let i = 0; i < 15; i++) {
      p.observeJudge('add', ['expert'], ['large'], 0.8);
      p.observeHuman('sort', ['large'], ['expert']);
    }
    expect(p.probability('add', ['expert'], ['large'])).toBeGreaterThan(0.7);
    expect(p.probability('sort', ['expert'], ['large'])).toBeLessThan(0.1);
    expect(p.categories()).toEqual(['add', 'sort']);
    const rates = p.winRatesVs('add', 'policy');
    expect(Object.keys(rates)).toEqual(['expert', 'human', 'large', 'policy', 'small']);
    expect(rates.policy).toBe(0.5);
  });

  it('weighs humans above the judge, and older evidence decays each iteration', () => {
    const a = matrixPrior();
    const b = matrixPrior();
    a.observeHuman('rev', ['small'], ['large']);
    b.observeJudge('rev', ['small'], ['large'], 1);
    expect(a.probability('rev', ['small'], ['large'])).toBeGreaterThan(
      b.probability('rev', ['small'], ['large']),
    );
    const before = a.probability('rev', ['small'], ['large']);
    a.beginIteration();
    const after = a.probability('rev', ['small'], ['large']);
    expect(after).toBeLessThan(before);
    expect(after).toBeGreaterThan(matrixPrior().probability('rev', ['small'], ['large']));
    // Zero-weight or empty observations change nothing.
    const c = matrixPrior();
    c.observeJudge('rev', ['small'], ['large'], 0);
    c.observe('rev', [], ['large'], 1);
    expect(c.getState().observed).toEqual({});
  });

  it('rewards agreement: an answer written by two sources scores above either alone', () => {
    const p = matrixPrior();
    expect(p.score('sort', ['small', 'policy'])).toBeGreaterThan(p.score('sort', ['small']));
    expect(p.score('sort', ['small', 'small'])).toBe(p.score('sort', ['small']));
    expect(p.probability('sort', ['small', 'policy'], ['small'])).toBeCloseTo(
      1 / (1 + Math.exp(-DEFAULT_PRIOR.agreement * Math.log(2))),
      12,
    );
  });

  it('round-trips its state exactly (resume refits the same numbers)', () => {
    const p = matrixPrior();
    p.observeJudge('sort', ['policy'], ['small'], 0.7);
    p.observeHuman('add', ['expert'], ['large', 'small']);
    p.beginIteration();
    const q = new CalibratedPrior();
    q.setState(JSON.parse(JSON.stringify(p.getState())));
    for (const cat of ['sort', 'add', undefined]) expect(q.strengths(cat)).toEqual(p.strengths(cat));
  });

  it('checks its options', () => {
    expect(() => new CalibratedPrior({ ...DEFAULT_PRIOR, belief: 1 })).toThrow(/belief/);
    expect(() => new CalibratedPrior({ ...DEFAULT_PRIOR, decay: 2 })).toThrow(/decay/);
    expect(() => new CalibratedPrior({ ...DEFAULT_PRIOR, strength: -1 })).toThrow(/strength/);
  });
});
