import { describe, expect, it } from 'vitest';
import { ABLATIONS, ablationTable } from '../../src/tso/ablation.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';
import { chartSvg } from '../../src/tso/loop/report.js';

describe('ablations', () => {
  const base = RunConfigSchema.parse({});

  it('each variant removes exactly its ingredient', () => {
    const by = Object.fromEntries(ABLATIONS.map((a) => [a.key, a.apply(base)]));
    expect(by.full).toEqual(base);
    expect([by['offline-dpo'].pairs_mode, by['offline-dpo'].reference]).toEqual(['offline', 'fixed']);
    expect(by['self-only'].samples_per_node).toBe(0);
    expect(by['self-only'].pairs.use_human).toBe(false);
    expect(by['no-correction'].correction.mode).toBe('none');
    expect(by['plain-dpo'].loss.name).toBe('dpo');
    expect(by['no-human'].pairs.use_human).toBe(false);
    expect(by['no-human'].loss.name).toBe('dual-clip');
  });

  it('tabulates mean ± sample std over seeds', () => {
    const table = ablationTable(
      [
        { key: 'full', seed: 0, gold_reward: 0.6, exact_match: 0.5, initial_exact_match: 0.3, wall_s: 1 },
        { key: 'full', seed: 1, gold_reward: 0.8, exact_match: 0.7, initial_exact_match: 0.3, wall_s: 1 },
        {
          key: 'plain-dpo',
          seed: 0,
          gold_reward: 0.5,
          exact_match: 0.4,
          initial_exact_match: 0.3,
          wall_s: 1,
        },
      ],
      2,
    );
    // mean 0.7, sample std sqrt(((0.1)^2 * 2) / 1) = 0.1414
    expect(table).toContain('| full TSO | 0.700 ± 0.141 | 60.0 ± 14.1 | 2 |');
    expect(table).toContain('| plain DPO loss instead of dual-clip | 0.500 ± 0.000 | 40.0 ± 0.0 | 1 |');
    expect(table).toContain('Initial policy: exact-match 30.0%');
  });
});

describe('chart', () => {
  it('plots both series over the iterations', () => {
    const svg = chartSvg([
      { iteration: 0, gold: 0.2, exact: 0.1 },
      { iteration: 1, gold: 0.5, exact: 0.4 },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(4);
  });
});
