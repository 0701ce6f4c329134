// The variants of `tso ablate`: each is the run config with one ingredient of TSO taken away (or, for
// oracle-labels, replaced by its upper bound). All keep the prompts, generation budget and optimizer
// schedule of the run config, so that differences come from the removed ingredient only.
import type { RunConfig } from '../loop/run-config.js';

export interface VariantContext {
  matrix: number;
}

export interface AblationVariant {
  /** Stable identifier: --only, run dir names, the JSON output. */
  key: string;
  /** Human name for tables and the chart legend. */
  name: string;
  /** One line: what this variant removes from (or changes in) full TSO. */
  removes: string;
  /** `matrix`: how many distinct generator models the cluster config lists (for equal budgets). */
  apply(c: RunConfig, ctx?: VariantContext): RunConfig;
  /** Labels every pair with the gold scorer (the oracle judge) instead of the configured judge. */
  oracleJudge?: boolean;
}

export const VARIANTS: readonly AblationVariant[] = [
  { key: 'full', name: 'full TSO', removes: 'nothing: TSO as configured', apply: (c) => c },
  {
    key: 'offline-dpo',
    name: 'offline DPO',
    removes: 'online pairs and the iterative reference: pairs built once from the initial policy',
    apply: (c) => ({ ...c, pairs_mode: 'offline', reference: 'fixed' }),
  },
  {
    key: 'online-fixed-ref',
    name: 'online DPO, fixed reference',
    removes: 'the iterative reference: fresh pairs every mini-batch, the reference never moves',
    apply: (c) => ({ ...c, pairs_mode: 'online', reference: 'fixed' }),
  },
  {
    key: 'self-only',
    name: 'self-samples only',
    removes: 'the matrix and human responses: iterative DPO on the policy’s own samples ranked by the judge',
    // Same generation budget: the policy draws the samples the matrix would have drawn too. Its samples
    // share one source, so the prior has no opinion and the judge orders them.
    apply: (c, ctx) => ({
      ...c,
      samples_per_node: 0,
      policy_samples: Math.max(2, c.policy_samples + c.samples_per_node * (ctx?.matrix ?? 0)),
      pairs: { ...c.pairs, use_human: false },
    }),
  },
  {
    key: 'no-correction',
    name: 'no correction',
    removes: 'feedback correction: pairs keep the prior order',
    apply: (c) => ({ ...c, correction: { ...c.correction, mode: 'none' } }),
  },
  {
    key: 'no-scale',
    name: 'no scaling',
    removes: 'pair weights: every pair has weight 1',
    apply: (c) => ({ ...c, pairs: { ...c.pairs, scale: false } }),
  },
  {
    key: 'plain-dpo',
    name: 'plain DPO loss',
    removes: 'the dual clip: the plain DPO loss',
    apply: (c) => ({ ...c, loss: { ...c.loss, name: 'dpo' } }),
  },
  {
    key: 'no-human',
    name: 'no human responses',
    removes: 'human responses from the candidate pool',
    apply: (c) => ({ ...c, pairs: { ...c.pairs, use_human: false } }),
  },
  {
    key: 'sft-distill',
    name: 'SFT distillation',
    removes: 'preferences: SFT on the best matrix answer per prompt',
    apply: (c) => ({
      ...c,
      pairs: { ...c.pairs, strategy: 'best-matrix' },
      loss: { ...c.loss, name: 'sft' },
    }),
  },
  {
    key: 'oracle-labels',
    name: 'oracle labels (upper bound)',
    removes: 'label noise: every pair ordered by the gold scorer',
    oracleJudge: true,
    // The oracle's log-odds outweigh any prior (judge_weight 2), so every decisive gold verdict is
    // applied and gold ties are dropped as doubtful; no humans, since the oracle is the best label.
    apply: (c) => ({
      ...c,
      correction: { ...c.correction, mode: 'ai', judge_weight: 2, human: { source: 'none' } },
    }),
  },
];

export function variantByKey(key: string): AblationVariant {
  const v = VARIANTS.find((x) => x.key === key);
  if (!v) throw new Error(`unknown ablation variant "${key}" (expected one of ${variantKeys()})`);
  return v;
}

export function variantKeys(): string {
  return VARIANTS.map((v) => v.key).join(', ');
}

/** The variants named in a comma-separated --only list (all when absent), in the canonical order. */
export function selectVariants(only: string | undefined): AblationVariant[] {
  if (only === undefined) return [...VARIANTS];
  const keys = only
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  if (keys.length === 0) throw new Error(`--only: no variant named (expected some of ${variantKeys()})`);
  const unknown = keys.filter((k) => !VARIANTS.some((v) => v.key === k));
  if (unknown.length)
    throw new Error(`--only: unknown variant(s) ${unknown.join(', ')} (expected some of ${variantKeys()})`);
  return VARIANTS.filter((v) => keys.includes(v.key));
}

/** The run config of one (variant, seed) cell: its own seed and run id, the variant applied. */
export function cellRunConfig(
  base: RunConfig,
  variant: AblationVariant,
  seed: number,
  ctx?: VariantContext,
): RunConfig {
  return variant.apply({ ...base, seed, run_id: `${base.run_id}-${variant.key}-s${seed}` }, ctx);
}
