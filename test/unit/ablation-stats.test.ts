// The ablation's statistics: the Student-t quantile against published values, and the paired
// difference interval on numbers computed by hand.
import { describe, expect, it } from 'vitest';
import {
  meanStd,
  pairedDiff,
  regularizedBeta,
  studentTCdf,
  studentTQuantile,
} from '../../src/tso/ablation/stats.js';

describe('Student-t quantile', () => {
  it('matches the published t_{0.975, df} for df = 1, 2, 4, 30', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 3);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.303, 3);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776, 3);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042, 3);
  });

  it('matches closed forms and the normal limit', () => {
    // df = 1 is the Cauchy distribution: t_p = tan(π (p − 1/2)).
    expect(studentTQuantile(0.9, 1)).toBeCloseTo(Math.tan(Math.PI * 0.4), 9);
    // df = 2: t_p = (2p − 1) / sqrt(2 p (1 − p)).
    expect(studentTQuantile(0.99, 2)).toBeCloseTo(0.98 / Math.sqrt(2 * 0.99 * 0.01), 9);
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.95996, 4);
    expect(studentTQuantile(0.995, 9)).toBeCloseTo(3.2498, 4);
  });

  it('is symmetric and inverts the CDF', () => {
    expect(studentTQuantile(0.5, 3)).toBe(0);
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-studentTQuantile(0.975, 4), 12);
    for (const df of [1, 3, 7, 19, 120])
      expect(studentTCdf(studentTQuantile(0.975, df), df)).toBeCloseTo(0.975, 10);
    expect(studentTCdf(-2, 3)).toBeCloseTo(0.0696629842794, 10);
    expect(regularizedBeta(0.3, 2, 5)).toBeCloseTo(0.579825, 10);
  });

  it('refuses impossible arguments', () => {
    expect(() => studentTQuantile(1, 3)).toThrow(/p must be in \(0, 1\)/);
    expect(() => studentTQuantile(0.975, 0)).toThrow(/degrees of freedom/);
  });
});

describe('mean ± sample std', () => {
  it('uses n − 1 and gives 0 spread for one value', () => {
    expect(meanStd([0.6, 0.8])).toEqual({ mean: 0.7, std: expect.closeTo(Math.SQRT2 * 0.1, 12), n: 2 });
    expect(meanStd([0.4])).toEqual({ mean: 0.4, std: 0, n: 1 });
  });
});

describe('paired difference to full', () => {
  it('is mean(d) ± t_{0.975, n−1} · sd(d)/√n over the seeds both have', () => {
    // d = variant − full per seed: 0.1, 0.2, 0.3 (seed 9 has no full run and is ignored).
    const variant = new Map([
      [1, 0.5],
      [2, 0.6],
      [3, 0.9],
      [9, 0.0],
    ]);
    const full = new Map([
      [1, 0.4],
      [2, 0.4],
      [3, 0.6],
    ]);
    const d = pairedDiff(variant, full)!;
    // mean 0.2, sd 0.1, n 3: half-width 4.302653 · 0.1 / √3 = 0.248414.
    expect(d.n).toBe(3);
    expect(d.mean).toBeCloseTo(0.2, 12);
    expect(d.lo!).toBeCloseTo(0.2 - 0.248414, 5);
    expect(d.hi!).toBeCloseTo(0.2 + 0.248414, 5);
  });

  it('has no interval for one paired seed, and is null with none', () => {
    expect(pairedDiff(new Map([[1, 0.5]]), new Map([[1, 0.3]]))).toEqual({
      mean: expect.closeTo(0.2, 12),
      lo: null,
      hi: null,
      n: 1,
    });
    expect(pairedDiff(new Map([[1, 0.5]]), new Map([[2, 0.3]]))).toBeNull();
  });
});
