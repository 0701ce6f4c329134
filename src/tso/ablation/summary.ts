// The ablation's numbers, computed from the cells: per variant the per-seed figures, mean ± sample std,
// the paired difference to full TSO with its 95% t-interval (overall and per task kind), and the mean
// learning curve. This object is the `--json` output and the source of the table and the chart.
import type { CellFailure, CellResult, HeldoutFigures } from './cell.js';
import { meanStd, pairedDiff, type DiffInterval, type MeanStd } from './stats.js';
import type { AblationVariant } from './variants.js';

export type Metric = 'exact_match' | 'gold_reward';
export const METRICS: readonly Metric[] = ['exact_match', 'gold_reward'];

export type SeedFigures = HeldoutFigures & { seed: number; wall_s: number; run_dir: string };

export interface FigureStats {
  exact_match: MeanStd;
  gold_reward: MeanStd;
  /** Null when some seed's evaluation has no per-kind figures. */
  by_kind: Record<string, Record<Metric, MeanStd>> | null;
}

export interface FigureDiffs {
  exact_match: DiffInterval | null;
  gold_reward: DiffInterval | null;
  by_kind: Record<string, Record<Metric, DiffInterval | null>> | null;
}

export interface VariantSummary {
  /** The variant's key. */
  name: string;
  title: string;
  removes: string;
  seeds: SeedFigures[];
  /** Null when no cell of the variant succeeded. */
  mean: FigureStats | null;
  /** Null for full itself, and when full was not run. */
  diff_vs_full: FigureDiffs | null;
  /** Mean held-out exact-match over seeds per evaluated iteration (0 = the initial policy). */
  curve: { iteration: number; exact_match: number }[];
}

export interface AblationSummary {
  variants: VariantSummary[];
  /** The initial policy, evaluated on each seed's held-out split. */
  initial: FigureStats | null;
  seeds: number[];
  failed: CellFailure[];
}

type Figured = HeldoutFigures & { seed: number };

/** Kinds reported by every seed, or null when some seed has no per-kind figures. */
function commonKinds(rows: readonly Figured[]): string[] | null {
  if (rows.length === 0 || rows.some((r) => !r.by_kind)) return null;
  return Object.keys(rows[0].by_kind!)
    .filter((k) => rows.every((r) => r.by_kind![k] !== undefined))
    .sort();
}

function stats(rows: readonly Figured[]): FigureStats | null {
  if (rows.length === 0) return null;
  const kinds = commonKinds(rows);
  return {
    exact_match: meanStd(rows.map((r) => r.exact_match)),
    gold_reward: meanStd(rows.map((r) => r.gold_reward)),
    by_kind: kinds
      ? Object.fromEntries(
          kinds.map((k) => [
            k,
            {
              exact_match: meanStd(rows.map((r) => r.by_kind![k].exact_match)),
              gold_reward: meanStd(rows.map((r) => r.by_kind![k].gold_reward)),
            },
          ]),
        )
      : null,
  };
}

const bySeed = (rows: readonly Figured[], pick: (r: Figured) => number) =>
  new Map(rows.map((r) => [r.seed, pick(r)]));

function diffs(rows: readonly Figured[], full: readonly Figured[]): FigureDiffs {
  const kinds = commonKinds([...rows, ...full]);
  const diff = (pick: (r: Figured) => number) => pairedDiff(bySeed(rows, pick), bySeed(full, pick));
  return {
    exact_match: diff((r) => r.exact_match),
    gold_reward: diff((r) => r.gold_reward),
    by_kind: kinds
      ? Object.fromEntries(
          kinds.map((k) => [
            k,
            {
              exact_match: diff((r) => r.by_kind![k].exact_match),
              gold_reward: diff((r) => r.by_kind![k].gold_reward),
            },
          ]),
        )
      : null,
  };
}

function meanCurve(cells: readonly CellResult[]): { iteration: number; exact_match: number }[] {
  const at = new Map<number, number[]>();
  for (const c of cells)
    for (const p of c.curve) at.set(p.iteration, [...(at.get(p.iteration) ?? []), p.exact_match]);
  return [...at.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([iteration, xs]) => ({ iteration, exact_match: meanStd(xs).mean }));
}

/** Summarises the cells; the order (variants, seeds) is the canonical one, not the completion order. */
export function summarise(
  variants: readonly AblationVariant[],
  seeds: readonly number[],
  cells: readonly CellResult[],
  failed: readonly CellFailure[],
): AblationSummary {
  const variantOrder = (key: string) => variants.findIndex((v) => v.key === key);
  const seedOrder = (a: CellResult, b: CellResult) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed);
  const of = (key: string) => cells.filter((c) => c.variant === key).sort(seedOrder);
  const finals = (cs: readonly CellResult[]): Figured[] => cs.map((c) => ({ ...c.final, seed: c.seed }));
  const fullCells = of('full');
  const hasFull = variants.some((v) => v.key === 'full') && fullCells.length > 0;
  // The initial policy does not depend on the variant: take each seed's from the first variant that ran it.
  const initialBySeed = new Map<number, Figured>();
  for (const v of variants)
    for (const c of of(v.key))
      if (!initialBySeed.has(c.seed)) initialBySeed.set(c.seed, { ...c.initial, seed: c.seed });
  return {
    variants: variants.map((v) => {
      const cs = of(v.key);
      return {
        name: v.key,
        title: v.name,
        removes: v.removes,
        seeds: cs.map((c) => ({ seed: c.seed, ...c.final, wall_s: c.wall_s, run_dir: c.run_dir })),
        mean: stats(finals(cs)),
        diff_vs_full:
          v.key !== 'full' && hasFull && cs.length > 0 ? diffs(finals(cs), finals(fullCells)) : null,
        curve: meanCurve(cs),
      };
    }),
    initial: stats(seeds.flatMap((s) => initialBySeed.get(s) ?? [])),
    seeds: [...seeds],
    failed: [...failed].sort((a, b) => variantOrder(a.variant) - variantOrder(b.variant) || a.seed - b.seed),
  };
}
