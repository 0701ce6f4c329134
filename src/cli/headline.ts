import type { Report } from '../tso/loop/report.js';

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** The few numbers a person wants at the end of a run, and where the rest is. */
export function printHeadline(r: Report, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  const lost = r.nodes.filter((n) => n.lost);
  const d = r.diagnostics;
  write(
    [
      '',
      `TSO run ${r.run_id}: ${r.iterations} mini-batches, ${r.steps} steps, ${r.wall_s} s`,
      `  held-out exact-match  ${pct(r.initial.exact_match)} -> ${pct(r.final.exact_match)} (${r.final.exact_match >= r.initial.exact_match ? '+' : ''}${((r.final.exact_match - r.initial.exact_match) * 100).toFixed(1)} points)`,
      `  held-out gold reward  ${r.initial.gold_reward.toFixed(3)} -> ${r.final.gold_reward.toFixed(3)}`,
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
