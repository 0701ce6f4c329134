// Candidates of TSO and their configured tiers. Tiers are where the calibrated prior starts
// (src/tso/calibrated-prior.ts), not the final word: a lower tier is believed better a priori.
//   tier 0                 human-written responses from the dataset
//   tiers 1..G             generator nodes, as configured (bigger / more trained first)
//   tier G + 1             samples of the current policy (the worst tier)

export type CandidateSource = 'human' | 'generator' | 'policy';

/** Where a response came from; kept on every pair for the exported dataset. */
export interface Provenance {
  source: CandidateSource;
  tier: number;
  node?: string;
  model?: string;
  weightVersion?: string;
  sampling?: { temperature?: number; topK?: number; topP?: number };
  seed?: number;
}

export interface Lineage extends Provenance {
  candidateId: string;
}

export interface Candidate extends Provenance {
  id: string;
  text: string;
  /** Other candidates with the same (trimmed) text that were merged into this one. */
  duplicates?: Lineage[];
}

export const HUMAN_TIER = 0;

/** Checks configured generator tiers (integers ≥ 1) and returns the policy tier, max + 1. */
export function policyTier(generatorTiers: readonly number[]): number {
  for (const t of generatorTiers) {
    if (!Number.isInteger(t) || t < 1)
      throw new Error(`prior: generator tiers must be integers ≥ 1, got ${t}`);
  }
  return generatorTiers.length === 0 ? 1 : Math.max(...generatorTiers) + 1;
}

/** The prior's name for where a response came from: `human`, the generator's model name, or `policy`. */
export function sourceKey(c: Provenance): string {
  if (c.source === 'generator') return c.model ?? c.node ?? 'generator';
  return c.source;
}

/** Every source that wrote this candidate's text (itself first, then merged duplicates), unique. */
export function sourcesOf(c: Candidate): string[] {
  return [...new Set([sourceKey(c), ...(c.duplicates ?? []).map(sourceKey)])];
}

export function lineageOf(c: Candidate): Lineage {
  const l: Lineage = { candidateId: c.id, source: c.source, tier: c.tier };
  if (c.node !== undefined) l.node = c.node;
  if (c.model !== undefined) l.model = c.model;
  if (c.weightVersion !== undefined) l.weightVersion = c.weightVersion;
  if (c.sampling !== undefined) l.sampling = c.sampling;
  if (c.seed !== undefined) l.seed = c.seed;
  return l;
}

/**
 * Merges candidates whose texts are equal after trimming surrounding whitespace (the gold scorer
 * and the judges ignore it too). The best (lowest) tier wins, ties by first appearance; the others'
 * lineage goes to `duplicates`. Output is sorted by tier, then by first appearance: deterministic.
 */
export function dedupeCandidates(candidates: readonly Candidate[]): Candidate[] {
  const groups = new Map<string, { index: number; cand: Candidate }[]>();
  candidates.forEach((cand, index) => {
    const key = cand.text.trim();
    const g = groups.get(key);
    if (g) g.push({ index, cand });
    else groups.set(key, [{ index, cand }]);
  });
  const kept: { index: number; cand: Candidate }[] = [];
  for (const g of groups.values()) {
    // Stable sort: equal tiers keep their input order, so the first appearance is kept.
    const members = [...g].sort((x, y) => x.cand.tier - y.cand.tier);
    const [best, ...rest] = members;
    const duplicates = [...(best.cand.duplicates ?? [])];
    for (const r of rest) duplicates.push(lineageOf(r.cand), ...(r.cand.duplicates ?? []));
    const cand: Candidate = { ...best.cand };
    if (duplicates.length > 0) cand.duplicates = duplicates;
    kept.push({ index: best.index, cand });
  }
  kept.sort((x, y) => x.cand.tier - y.cand.tier || x.index - y.index);
  return kept.map((k) => k.cand);
}
