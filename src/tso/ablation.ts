// The ablations of `tso ablate`: each is the run config with one ingredient of TSO taken away.
import type { RunConfig } from './loop/run-config.js';

export interface Ablation {
  key: string;
  name: string;
  apply(c: RunConfig): RunConfig;
}

export const ABLATIONS: readonly Ablation[] = [
  { key: 'full', name: 'full TSO', apply: (c) => c },
  {
    key: 'offline-dpo',
    name: 'offline DPO (static pairs, fixed reference)',
    apply: (c) => ({ ...c, pairs_mode: 'offline', reference: 'fixed' }),
  },
  {
    key: 'self-only',
    name: 'iterative DPO on self-samples only (no matrix, no human responses; judge ranks samples)',
    apply: (c) => ({
      ...c,
      samples_per_node: 0,
      policy_samples: Math.max(2, c.policy_samples),
      pairs: { ...c.pairs, use_human: false },
    }),
  },
  {
    key: 'no-correction',
    name: 'no feedback correction (prior order only)',
    apply: (c) => ({ ...c, correction: { ...c.correction, mode: 'none' } }),
  },
  {
    key: 'plain-dpo',
    name: 'plain DPO loss instead of dual-clip',
    apply: (c) => ({ ...c, loss: { ...c.loss, name: 'dpo' } }),
  },
  {
    key: 'no-human',
    name: 'no human responses in the pool',
    apply: (c) => ({ ...c, pairs: { ...c.pairs, use_human: false } }),
  },
];

export interface AblationCell {
  key: string;
  seed: number;
  gold_reward: number;
  exact_match: number;
  initial_exact_match: number;
  wall_s: number;
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

/** Markdown table: mean ± std (sample std over seeds) of held-out gold reward and exact-match. */
export function ablationTable(cells: AblationCell[], seeds: number): string {
  const fmt = (m: { mean: number; std: number }, pct: boolean) =>
    pct
      ? `${(m.mean * 100).toFixed(1)} ± ${(m.std * 100).toFixed(1)}`
      : `${m.mean.toFixed(3)} ± ${m.std.toFixed(3)}`;
  const rows = ABLATIONS.filter((a) => cells.some((c) => c.key === a.key)).map((a) => {
    const cs = cells.filter((c) => c.key === a.key);
    return `| ${a.name} | ${fmt(meanStd(cs.map((c) => c.gold_reward)), false)} | ${fmt(meanStd(cs.map((c) => c.exact_match)), true)} | ${cs.length} |`;
  });
  const init = meanStd(cells.filter((c) => c.key === 'full').map((c) => c.initial_exact_match));
  return [
    `| variant | held-out gold reward | held-out exact-match (%) | seeds |`,
    `|---|---|---|---|`,
    ...rows,
    '',
    `Initial policy: exact-match ${(init.mean * 100).toFixed(1)}%. Mean ± sample std over ${seeds} seed(s).`,
    '',
  ].join('\n');
}
