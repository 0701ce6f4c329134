// One (variant, seed) cell of an ablation: its held-out figures, read from the run's metrics.jsonl (the
// evaluator's own rows: iteration 0 is the initial policy, the last row the final policy). The result
// travels from the cell's process to the parent as one JSON line, so it is validated on arrival.
import { z } from 'zod';

const KindMetricsSchema = z.object({
  n: z.number(),
  exact_match: z.number(),
  gold_reward: z.number(),
});

const FiguresSchema = z.object({
  exact_match: z.number(),
  gold_reward: z.number(),
  /** Per task kind, when the evaluator reports it (absent from older runs). */
  by_kind: z.record(z.string(), KindMetricsSchema).optional(),
});

const CurvePointSchema = z.object({
  iteration: z.number(),
  exact_match: z.number(),
  gold_reward: z.number(),
});

export const CellResultSchema = z.strictObject({
  variant: z.string(),
  seed: z.number().int(),
  initial: FiguresSchema,
  final: FiguresSchema,
  /** Held-out figures per evaluated iteration (0 = the initial policy). */
  curve: z.array(CurvePointSchema),
  wall_s: z.number(),
  run_dir: z.string(),
});

export type KindMetrics = z.infer<typeof KindMetricsSchema>;
export type HeldoutFigures = z.infer<typeof FiguresSchema>;
export type CurvePoint = z.infer<typeof CurvePointSchema>;
export type CellResult = z.infer<typeof CellResultSchema>;

/** A cell that did not produce a result: reported, and the command exits non-zero. */
export interface CellFailure {
  variant: string;
  seed: number;
  error: string;
}

// metrics.jsonl rows carry more fields (mean_length, KL, ...); only these are read.
const MetricsRowSchema = FiguresSchema.extend({ iteration: z.number().int().min(0) });

const figures = (r: z.infer<typeof MetricsRowSchema>): HeldoutFigures =>
  r.by_kind
    ? { exact_match: r.exact_match, gold_reward: r.gold_reward, by_kind: r.by_kind }
    : { exact_match: r.exact_match, gold_reward: r.gold_reward };

/** Initial and final figures and the learning curve from the text of a run's metrics.jsonl. */
export function readCellMetrics(metricsJsonl: string): Pick<CellResult, 'initial' | 'final' | 'curve'> {
  const rows = metricsJsonl
    .split('\n')
    .map((l, i) => ({ line: i + 1, row: l.trim() ? (JSON.parse(l) as Record<string, unknown>) : {} }))
    // Iterations without a held-out evaluation (eval.every > 1) carry diagnostics only.
    .filter(({ row }) => 'exact_match' in row)
    .map(({ line, row }) => {
      const r = MetricsRowSchema.safeParse(row);
      if (!r.success)
        throw new Error(`metrics.jsonl line ${line}: ${r.error.issues[0]?.message ?? 'invalid'}`);
      return r.data;
    })
    .sort((a, b) => a.iteration - b.iteration);
  const initial = rows.find((r) => r.iteration === 0);
  const final = rows.at(-1);
  if (!initial || !final || final.iteration === 0)
    throw new Error('metrics.jsonl: expected the initial evaluation and at least one after training');
  return {
    initial: figures(initial),
    final: figures(final),
    curve: rows.map((r) => ({
      iteration: r.iteration,
      exact_match: r.exact_match,
      gold_reward: r.gold_reward,
    })),
  };
}

/** Parses the cell's result line (the last JSON line of its stdout). */
export function parseCellResultLine(stdout: string): CellResult {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (!line) throw new Error('the cell printed no result line');
  const r = CellResultSchema.safeParse(JSON.parse(line));
  if (!r.success) throw new Error(`the cell's result line is malformed: ${r.error.issues[0]?.message ?? ''}`);
  return r.data;
}
