import type { Report } from '../tso/loop/report.js';

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

/** Gold numbers when the task has gold, else the judge's win rate against the initial policy. */
function heldoutLines(r: Report): string[] {
  const [i, f] = [r.initial, r.final];
  if (i.exact_match === undefined || f.exact_match === undefined || i.gold_reward === undefined)
    return [
      `  held-out judge win rate vs initial ${pct(f.judge_win_rate_vs_initial ?? null)} (no gold), length ${i.mean_length.toFixed(1)} -> ${f.mean_length.toFixed(1)}`,
    ];
  return [
    `  held-out exact-match  ${pct(i.exact_match)} -> ${pct(f.exact_match)} (${signed(f.exact_match - i.exact_match)} points)`,
    `  held-out gold reward  ${i.gold_reward.toFixed(3)} -> ${(f.gold_reward ?? 0).toFixed(3)}`,
  ];
}

/** The few numbers a person wants at the end of a run, and where the rest is. */
export function printHeadline(r: Report, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  const lost = r.nodes.filter((n) => n.lost);
  const d = r.diagnostics;
  write(
    [
      '',
      `TSO run ${r.run_id}: ${r.iterations} mini-batches, ${r.steps} steps, ${r.wall_s} s`,
      ...heldoutLines(r),
      `  pairs ${r.pairs_total}, disputes ${r.disputes}, human labels ${r.human_labels} = ${pct(d.human_label_share)} of pairs (${r.human_source})`,
      `  pair labels right by gold ${pct(d.pair_label_accuracy)} (gold ties ${pct(d.pair_tie_rate)}), dual clip bound on ${pct(d.clipped_chosen)} chosen / ${pct(d.clipped_rejected)} rejected`,
      lost.length
        ? `  lost nodes: ${lost.map((n) => `${n.id} (${n.lost_reason})`).join('; ')}`
        : '  lost nodes: none',
      `  report: ${r.paths.report_md}  (json: ${r.paths.report_md.replace(/report\.md$/, 'report.json')}, chart: ${r.paths.chart})`,
      `  policy: ${r.paths.policy}  dataset: ${r.paths.dataset}`,
      '',
    ].join('\n'),
  );
}
