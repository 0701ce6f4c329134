// The run's record for people: report.json (machine-readable headline numbers), report.md, and an SVG
// chart of held-out gold reward and exact-match per iteration.
import { runDiagnostics } from './diagnostics.js';
import type { EvalSummary, LoopResult } from './run-loop.js';
import type { RunConfig } from './run-config.js';
import type { RunDir } from './run-dir.js';

export interface NodeSummary {
  id: string;
  role: string;
  model: string;
  tier: number;
  backend: string;
  lost: boolean;
  lost_reason?: string;
}

export interface TaskSummary {
  name: string;
  kind: string;
  train_prompts: number;
  heldout_prompts: number;
  gold: boolean;
  skipped_too_long: number;
}

export interface ReportInput {
  cfg: RunConfig;
  result: LoopResult;
  nodes: NodeSummary[];
  wall_s: number;
  human_source: string;
  resumed: boolean;
  /** Which task, how many prompts, how many were skipped for not fitting a model's context. */
  task?: TaskSummary;
}

/** The held-out numbers of one evaluation kept in the report (gold ones only when the task has gold). */
function heldoutSummary(m: EvalSummary) {
  return {
    n: m.n,
    gold_reward: m.gold_reward,
    exact_match: m.exact_match,
    by_category: m.by_kind,
    mean_length: m.mean_length,
    distinct_2: m.distinct_2,
  };
}

export function buildReport(dir: RunDir, r: ReportInput) {
  const res = r.result;
  return {
    run_id: r.cfg.run_id,
    wall_s: Math.round(r.wall_s * 10) / 10,
    iterations: res.iterations.length,
    steps: res.steps,
    resumed: r.resumed,
    nodes: r.nodes,
    task: r.task,
    initial: heldoutSummary(res.initial),
    final: {
      ...heldoutSummary(res.final),
      win_rate_vs_initial: res.final.win_rate_vs_baseline,
      judge_win_rate_vs_initial: res.final.judge_win_rate_vs_baseline,
      kl_to_initial: res.final.kl_to_baseline,
    },
    /** Did TSO's parts do their jobs: pooled pair diagnostics (gold used only to measure). */
    diagnostics: runDiagnostics(res.iterations.map((it) => it.diagnostics).filter((d) => d !== undefined)),
    pairs_total: res.totals.pairs,
    disputes: res.totals.disputes,
    human_labels: res.totals.human_labels,
    human_source: r.human_source,
    missing_work: res.totals.missing,
    loss: {
      name: r.cfg.loss.name,
      beta: r.cfg.loss.beta,
      clip_chosen: r.cfg.loss.clip_chosen,
      clip_rejected: r.cfg.loss.clip_rejected,
      last: res.loss_last,
    },
    per_iteration: res.iterations.map((it) => ({
      iteration: it.iteration,
      pairs: it.pairs,
      disputes: it.correction.disputes,
      human_resolved: it.correction.humanResolved,
      prior_ai_agreement: it.correction.priorAiAgreement,
      ai_human_agreement: it.correction.aiHumanAgreement,
      loss_last: it.loss_last,
      gold_reward: it.eval?.gold_reward,
      exact_match: it.eval?.exact_match,
      missing: it.missing.length,
      refresh_acks: it.refresh_acks,
      wall_s: Math.round(it.wall_s * 10) / 10,
      diagnostics: it.diagnostics,
    })),
    events: res.events,
    paths: {
      policy: dir.path('policy'),
      dataset: dir.path('pairs.jsonl'),
      metrics: dir.path('metrics.jsonl'),
      steps: dir.path('steps.jsonl'),
      chart: dir.path('chart.svg'),
      report_md: dir.path('report.md'),
    },
  };
}

export type Report = ReturnType<typeof buildReport>;

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null | undefined, d = 3) => (x === undefined || x === null ? '–' : x.toFixed(d));

export function reportMarkdown(rep: Report): string {
  const lines = [
    `# TSO run ${rep.run_id}`,
    '',
    `Held-out exact-match ${pct(rep.initial.exact_match)} → ${pct(rep.final.exact_match)}, gold reward ${num(rep.initial.gold_reward)} → ${num(rep.final.gold_reward)}, ` +
      `win rate vs the initial policy ${pct(rep.final.win_rate_vs_initial)}, KL to it ${num(rep.final.kl_to_initial)}.`,
    '',
    `${rep.iterations} mini-batches, ${rep.steps} optimizer steps, ${rep.pairs_total} pairs, ${rep.disputes} disputes, ${rep.human_labels} human labels (${rep.human_source}), ${rep.wall_s} s.`,
    '',
    `Pairs measured against gold after the fact: label accuracy ${pct(rep.diagnostics.pair_label_accuracy ?? undefined)}, ` +
      `gold ties ${pct(rep.diagnostics.pair_tie_rate ?? undefined)}, inverted ${pct(rep.diagnostics.pair_inverted_rate ?? undefined)}, ` +
      `chosen exact ${pct(rep.diagnostics.chosen_exact_rate ?? undefined)}; human labels ${pct(rep.diagnostics.human_label_share ?? undefined)} of pairs; ` +
      `dual clip bound on ${pct(rep.diagnostics.clipped_chosen ?? undefined)} (chosen) / ${pct(rep.diagnostics.clipped_rejected ?? undefined)} (rejected) of pairs.`,
    '',
    '| iteration | pairs | disputes | human | prior–AI agree | AI–human agree | loss | gold reward | exact-match |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rep.per_iteration.map(
      (it) =>
        `| ${it.iteration} | ${it.pairs} | ${it.disputes} | ${it.human_resolved} | ${pct(it.prior_ai_agreement ?? undefined)} | ${pct(it.ai_human_agreement ?? undefined)} | ${num(it.loss_last)} | ${num(it.gold_reward)} | ${pct(it.exact_match)} |`,
    ),
    '',
    '## Nodes',
    '',
    '| node | role | model | tier | backend | status |',
    '|---|---|---|---|---|---|',
    ...rep.nodes.map(
      (n) =>
        `| ${n.id} | ${n.role} | ${n.model} | ${n.tier} | ${n.backend} | ${n.lost ? `lost: ${n.lost_reason ?? ''}` : 'ok'} |`,
    ),
    '',
  ];
  if (rep.events.length)
    lines.push('## Events', '', ...rep.events.map((e) => `- ${e.at} ${e.node} ${e.kind}: ${e.detail}`), '');
  lines.push(`Policy: \`${rep.paths.policy}\`; preference dataset: \`${rep.paths.dataset}\`.`, '');
  return lines.join('\n');
}

/** Line chart of held-out gold reward and exact-match per iteration (0 = the initial policy). */
export function chartSvg(points: { iteration: number; gold: number; exact: number }[]): string {
  const W = 640,
    H = 360,
    L = 50,
    R = 20,
    T = 30,
    B = 45;
  const maxX = Math.max(1, ...points.map((p) => p.iteration));
  const x = (i: number) => L + ((W - L - R) * i) / maxX;
  const y = (v: number) => T + (H - T - B) * (1 - v);
  const path = (k: 'gold' | 'exact') =>
    points.map((p, i) => `${i ? 'L' : 'M'}${x(p.iteration).toFixed(1)},${y(p[k]).toFixed(1)}`).join(' ');
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 8}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v}</text>`,
    )
    .join('');
  const ticks = points
    .map(
      (p) =>
        `<text x="${x(p.iteration)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${p.iteration}</text>`,
    )
    .join('');
  const dots = (k: 'gold' | 'exact', c: string) =>
    points.map((p) => `<circle cx="${x(p.iteration)}" cy="${y(p[k])}" r="3" fill="${c}"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">Held-out gold reward and exact-match per iteration</text>
${grid}${ticks}
<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">iteration (0 = initial policy)</text>
<path d="${path('gold')}" fill="none" stroke="#1f77b4" stroke-width="2"/>${dots('gold', '#1f77b4')}
<path d="${path('exact')}" fill="none" stroke="#d62728" stroke-width="2"/>${dots('exact', '#d62728')}
<rect x="${L + 10}" y="${T + 4}" width="12" height="3" fill="#1f77b4"/><text x="${L + 28}" y="${T + 9}" font-size="12">gold reward</text>
<rect x="${L + 120}" y="${T + 4}" width="12" height="3" fill="#d62728"/><text x="${L + 138}" y="${T + 9}" font-size="12">exact-match</text>
</svg>
`;
}

export async function writeReport(dir: RunDir, input: ReportInput): Promise<Report> {
  const rep = buildReport(dir, input);
  const points = [
    { iteration: 0, gold: input.result.initial.gold_reward, exact: input.result.initial.exact_match },
    ...input.result.iterations
      .filter((it) => it.eval)
      .map((it) => ({ iteration: it.iteration, gold: it.eval!.gold_reward, exact: it.eval!.exact_match })),
  ].flatMap(({ iteration, gold, exact }) =>
    // A task without gold has no gold curve to draw.
    gold === undefined || exact === undefined ? [] : [{ iteration, gold, exact }],
  );
  await dir.writeJson('report.json', rep);
  await dir.writeAtomic('report.md', reportMarkdown(rep));
  await dir.writeAtomic('chart.svg', chartSvg(points));
  return rep;
}
