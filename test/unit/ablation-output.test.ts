// The ablation's output: cells read from metrics.jsonl, the summary (the --json object), the markdown
// tables and the learning-curve SVG, on hand-made cells.
import { describe, expect, it } from 'vitest';
import { parseCellResultLine, readCellMetrics, type CellResult } from '../../src/tso/ablation/cell.js';
import { curvesSvg } from '../../src/tso/ablation/curves.js';
import { summarise } from '../../src/tso/ablation/summary.js';
import { ablationMarkdown, formatDiff } from '../../src/tso/ablation/table.js';
import { selectVariants } from '../../src/tso/ablation/variants.js';

const kinds = (sort: number, add: number) => ({
  sort: { n: 10, exact_match: sort, gold_reward: 0.5 + sort / 2 },
  add: { n: 10, exact_match: add, gold_reward: 0.5 + add / 2 },
});

function cell(variant: string, seed: number, exact: number, gold: number, byKind = true): CellResult {
  const fig = (e: number, g: number) =>
    byKind
      ? { exact_match: e, gold_reward: g, by_kind: kinds(e, e / 2) }
      : { exact_match: e, gold_reward: g };
  return {
    variant,
    seed,
    initial: fig(0.1, 0.3),
    final: fig(exact, gold),
    curve: [
      { iteration: 0, exact_match: 0.1, gold_reward: 0.3 },
      { iteration: 1, exact_match: exact, gold_reward: gold },
    ],
    wall_s: 1,
    run_dir: `runs/x/${variant}/seed-${seed}`,
  };
}

describe('cell results', () => {
  it('reads initial, final and the curve from metrics.jsonl, with by_kind when present', () => {
    const rows = [
      { iteration: 0, phase: 'initial', n: 4, gold_reward: 0.2, exact_match: 0, mean_length: 3 },
      {
        iteration: 2,
        phase: 'minibatch',
        n: 4,
        gold_reward: 0.6,
        exact_match: 0.5,
        by_kind: kinds(0.5, 0.5),
      },
      { iteration: 1, phase: 'minibatch', n: 4, gold_reward: 0.4, exact_match: 0.25 },
    ];
    const m = readCellMetrics(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(m.initial).toEqual({ exact_match: 0, gold_reward: 0.2 });
    expect(m.final).toEqual({ exact_match: 0.5, gold_reward: 0.6, by_kind: kinds(0.5, 0.5) });
    expect(m.curve.map((p) => p.iteration)).toEqual([0, 1, 2]);
    expect(() => readCellMetrics(JSON.stringify(rows[0]))).toThrow(/at least one after training/);
  });

  it('parses the last JSON line of a cell and refuses a malformed one', () => {
    const c = cell('full', 3, 0.5, 0.6);
    expect(parseCellResultLine(`noise\n${JSON.stringify(c)}\n`)).toEqual(c);
    expect(() => parseCellResultLine('nothing here')).toThrow(/no result line/);
    expect(() => parseCellResultLine(JSON.stringify({ ...c, seed: 'x' }))).toThrow(/malformed/);
  });
});

describe('ablation summary', () => {
  const variants = selectVariants('full,no-human,plain-dpo');
  const cells = [
    cell('no-human', 2, 0.5, 0.7),
    cell('full', 1, 0.4, 0.6),
    cell('full', 2, 0.4, 0.6),
    cell('full', 3, 0.6, 0.7),
    cell('no-human', 1, 0.5, 0.7),
    cell('no-human', 3, 0.9, 0.8),
  ];
  const failed = [{ variant: 'plain-dpo', seed: 1, error: 'exited with code 1: boom' }];
  const s = summarise(variants, [1, 2, 3], cells, failed);

  it('has the documented JSON shape, in canonical order', () => {
    const json = JSON.parse(JSON.stringify(s));
    expect(Object.keys(json).sort()).toEqual(['failed', 'initial', 'seeds', 'variants']);
    expect(json.seeds).toEqual([1, 2, 3]);
    expect(json.variants.map((v: { name: string }) => v.name)).toEqual(['full', 'plain-dpo', 'no-human']);
    const nh = json.variants[2];
    expect(nh.seeds.map((x: { seed: number }) => x.seed)).toEqual([1, 2, 3]);
    expect(nh.seeds[0]).toMatchObject({
      seed: 1,
      exact_match: 0.5,
      gold_reward: 0.7,
      by_kind: kinds(0.5, 0.25),
    });
    expect(nh.mean.exact_match.mean).toBeCloseTo(0.6333333, 6);
    // d = 0.1, 0.1, 0.3: mean 0.16667, sd 0.11547, half-width 4.302653 · 0.11547 / √3 = 0.286848.
    expect(nh.diff_vs_full.exact_match.mean).toBeCloseTo(0.1666667, 6);
    expect(nh.diff_vs_full.exact_match.lo).toBeCloseTo(0.1666667 - 0.286848, 5);
    expect(nh.diff_vs_full.exact_match.hi).toBeCloseTo(0.1666667 + 0.286848, 5);
    expect(nh.diff_vs_full.by_kind.sort.exact_match.mean).toBeCloseTo(0.1666667, 6);
    expect(nh.curve).toEqual([
      { iteration: 0, exact_match: expect.closeTo(0.1, 12) },
      { iteration: 1, exact_match: expect.closeTo(0.6333333, 6) },
    ]);
    expect(json.variants[0].diff_vs_full).toBeNull();
    expect(json.variants[1]).toMatchObject({ seeds: [], mean: null, diff_vs_full: null });
    expect(json.initial.exact_match).toMatchObject({ mean: expect.closeTo(0.1, 12), n: 3 });
    expect(json.failed).toEqual(failed);
  });

  it('renders the overall table, per-kind tables, the initial policy, the seeds and failures', () => {
    const md = ablationMarkdown(s, 'demo');
    expect(md).toContain(
      '| variant | seeds | exact-match (%) | Δ vs full [95% CI] | gold reward | Δ vs full [95% CI] |',
    );
    expect(md).toContain('| full TSO | 3 | 46.7 ± 11.5 | — | 0.633 ± 0.058 | — |');
    expect(md).toContain(
      '| no human responses | 3 | 63.3 ± 23.1 | +16.7 [−12.0, +45.4] | 0.733 ± 0.058 | +0.100 [+0.100, +0.100] |',
    );
    expect(md).toContain('| plain DPO loss | 0 | n/a | n/a | n/a | n/a |');
    expect(md).toContain('## Kind: add');
    expect(md).toContain('## Kind: sort');
    expect(md).toContain('over seeds 1, 2, 3');
    expect(md).toContain('Initial policy');
    expect(md).toContain('- plain-dpo, seed 1: exited with code 1: boom');
  });

  it('says n/a for per-kind figures when the evaluation has none', () => {
    const old = summarise(
      selectVariants('full,no-human'),
      [1],
      [cell('full', 1, 0.4, 0.6, false), cell('no-human', 1, 0.5, 0.7, false)],
      [],
    );
    expect(old.variants[1].mean?.by_kind).toBeNull();
    const md = ablationMarkdown(old, 'demo');
    expect(md).toContain('Per-kind figures: n/a');
    expect(md).toContain('+10.0 (1 paired seed, no CI)');
    expect(md).toContain('| no human responses | 1 | 50.0 | +10.0 (1 paired seed, no CI) | 0.700 |');
    expect(md).not.toContain('## Kind:');
  });

  it('formats intervals in points for exact-match and raw for gold', () => {
    expect(formatDiff({ mean: -0.012, lo: -0.03, hi: 0.006, n: 5 }, 'exact_match')).toBe('−1.2 [−3.0, +0.6]');
    expect(formatDiff(null, 'gold_reward')).toBe('n/a');
  });

  it('draws one curve per variant that has one, with a legend', () => {
    const svg = curvesSvg(s.variants);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('>full</text>');
    expect(svg).toContain('>no-human</text>');
  });
});
