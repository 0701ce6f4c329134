import { describe, expect, it } from 'vitest';
import { chartSvg } from '../../src/tso/loop/report.js';

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
