// The ablation as markdown (stdout and ablation.md): one table overall, one per task kind, the initial
// policy's figures, the seeds, and any failed cells. Exact-match is in %, its Δ in percentage points.
import type { DiffInterval, MeanStd } from './stats.js';
import type { AblationSummary, FigureStats, Metric, VariantSummary } from './summary.js';

const NA = 'n/a';

const scaleOf = (m: Metric) => (m === 'exact_match' ? 100 : 1);
const digitsOf = (m: Metric) => (m === 'exact_match' ? 1 : 3);

function signed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return x >= 0 && !s.startsWith('-') ? `+${s}` : s.replace('-', '−');
}

export function formatMeanStd(s: MeanStd | undefined, m: Metric): string {
  if (!s || s.n === 0) return NA;
  const k = scaleOf(m);
  const mean = (s.mean * k).toFixed(digitsOf(m));
  // One seed has no spread to show: "± 0" would read as a measured zero.
  return s.n === 1 ? mean : `${mean} ± ${(s.std * k).toFixed(digitsOf(m))}`;
}

export function formatDiff(d: DiffInterval | null | undefined, m: Metric): string {
  if (!d) return NA;
  const k = scaleOf(m);
  const mean = signed(d.mean * k, digitsOf(m));
  if (d.lo === null || d.hi === null) return `${mean} (${d.n} paired seed, no CI)`;
  return `${mean} [${signed(d.lo * k, digitsOf(m))}, ${signed(d.hi * k, digitsOf(m))}]`;
}

type Pick = {
  stats: (v: VariantSummary) => Partial<Record<Metric, MeanStd>> | undefined;
  diff: (v: VariantSummary) => Partial<Record<Metric, DiffInterval | null>> | undefined;
};

function table(s: AblationSummary, pick: Pick): string[] {
  return [
    '| variant | seeds | exact-match (%) | Δ vs full [95% CI] | gold reward | Δ vs full [95% CI] |',
    '|---|---|---|---|---|---|',
    ...s.variants.map((v) => {
      const st = pick.stats(v);
      const df = pick.diff(v);
      const diff = (m: Metric) => (v.name === 'full' ? '—' : formatDiff(df?.[m], m));
      return `| ${v.title} | ${v.seeds.length} | ${formatMeanStd(st?.exact_match, 'exact_match')} | ${diff('exact_match')} | ${formatMeanStd(st?.gold_reward, 'gold_reward')} | ${diff('gold_reward')} |`;
    }),
  ];
}

const overall: Pick = {
  stats: (v) => v.mean ?? undefined,
  diff: (v) => v.diff_vs_full ?? undefined,
};

const ofKind = (kind: string): Pick => ({
  stats: (v) => v.mean?.by_kind?.[kind],
  diff: (v) => v.diff_vs_full?.by_kind?.[kind],
});

function allKinds(s: AblationSummary): string[] {
  const kinds = new Set<string>();
  for (const v of s.variants) for (const k of Object.keys(v.mean?.by_kind ?? {})) kinds.add(k);
  return [...kinds].sort();
}

function initialLine(init: FigureStats | null): string {
  if (!init) return 'Initial policy: n/a (no cell finished).';
  const kinds = init.by_kind
    ? Object.entries(init.by_kind)
        .map(([k, f]) => `${k} ${formatMeanStd(f.exact_match, 'exact_match')}%`)
        .join(', ')
    : NA;
  return (
    `Initial policy (the same for every variant; evaluated on each seed's held-out split): ` +
    `exact-match ${formatMeanStd(init.exact_match, 'exact_match')}%, gold reward ${formatMeanStd(init.gold_reward, 'gold_reward')}; ` +
    `exact-match per kind: ${kinds}.`
  );
}

export function ablationMarkdown(s: AblationSummary, runId: string): string {
  const kinds = allKinds(s);
  const hasFull = s.variants.some((v) => v.name === 'full' && v.seeds.length > 0);
  const lines = [
    `# Ablations of ${runId}`,
    '',
    `Held-out figures of the final policy: mean ± sample std over seeds ${s.seeds.join(', ')}. ` +
      `Δ vs full is the mean of the per-seed differences (variant − full; a seed fixes the training prompts, ` +
      `the held-out set is the same for every seed) with its 95% Student-t interval; exact-match and its Δ ` +
      `are in percentage points.` +
      (hasFull ? '' : ' Full TSO was not run, so there is no Δ.'),
    '',
    ...table(s, overall),
    '',
  ];
  if (kinds.length === 0) lines.push('Per-kind figures: n/a (the evaluation did not report them).', '');
  for (const k of kinds) lines.push(`## Kind: ${k}`, '', ...table(s, ofKind(k)), '');
  lines.push(initialLine(s.initial), '', '## Variants', '');
  lines.push(...s.variants.map((v) => `- \`${v.name}\` (${v.title}): removes ${v.removes}.`), '');
  if (s.failed.length) {
    lines.push('## Failed cells', '');
    lines.push(...s.failed.map((f) => `- ${f.variant}, seed ${f.seed}: ${f.error.split('\n')[0]}`), '');
  }
  return lines.join('\n');
}
