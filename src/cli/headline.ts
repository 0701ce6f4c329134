import type { Report } from '../tso/loop/report.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The few numbers a person wants at the end of a run, and where the rest is. */
export function printHeadline(r: Report, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  const lost = r.nodes.filter((n) => n.lost);
  write(
    [
      '',
      `TSO run ${r.run_id}: ${r.iterations} mini-batches, ${r.steps} steps, ${r.wall_s} s`,
      `  held-out exact-match  ${pct(r.initial.exact_match)} -> ${pct(r.final.exact_match)} (${r.final.exact_match >= r.initial.exact_match ? '+' : ''}${((r.final.exact_match - r.initial.exact_match) * 100).toFixed(1)} points)`,
      `  held-out gold reward  ${r.initial.gold_reward.toFixed(3)} -> ${r.final.gold_reward.toFixed(3)}`,
      `  pairs ${r.pairs_total}, disputes ${r.disputes}, human labels ${r.human_labels} (${r.human_source})`,
      lost.length
        ? `  lost nodes: ${lost.map((n) => `${n.id} (${n.lost_reason})`).join('; ')}`
        : '  lost nodes: none',
      `  report: ${r.paths.report_md}  (json: ${r.paths.report_md.replace(/report\.md$/, 'report.json')}, chart: ${r.paths.chart})`,
      `  policy: ${r.paths.policy}  dataset: ${r.paths.dataset}`,
      '',
    ].join('\n'),
  );
}
