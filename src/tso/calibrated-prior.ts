// The calibrated prior of TSO: how likely a response from source A beats one from source B, per task
// category, estimated online from the run's own AI and human verdicts (never from gold).
//
// Model: Bradley–Terry. Each (category, source) has a strength θ, and P(A ≻ B) = σ(θ_A − θ_B).
// Sources are `human`, every generator by model name, and `policy` — the policy is a source like any
// other, so a matrix member the policy has outgrown stops being preferred.
//
// Started from the configured tiers: for every two sources with tier(A) < tier(B) the fit sees
// `strength` pseudo-comparisons of which A won a share `belief` (default 4 and 0.75), in every
// category. Observations are added on top: a decisive verdict on a pair is one comparison between the
// two sides' sources, weighted by `judgeWeight · confidence` for the AI judge and by `humanWeight` for a
// human label. At the start of every iteration observed counts are multiplied by `decay`, so the
// estimate follows a policy that improves. The fit is the classic MM iteration (Hunter 2004), run to
// convergence from zero; it is a pure function of the counts, so a resumed run refits the same numbers.
//
// A candidate whose text several sources wrote (identical answers are merged) is scored by its
// strongest source plus `agreement · ln(#sources)`: independent models agreeing is evidence too.

export interface PriorOptions {
  /** Pseudo-comparisons per pair of configured tiers (≥ 0). */
  strength: number;
  /** Share of those pseudo-comparisons the better-tiered source wins, in [0.5, 1). */
  belief: number;
  /** Multiplier of observed counts at each new iteration, in [0, 1]. */
  decay: number;
  /** Weight of one human label, in comparisons. */
  humanWeight: number;
  /** Weight of one AI verdict of confidence 1, in comparisons. */
  judgeWeight: number;
  /** Log-strength bonus per e-fold of sources that wrote the same answer. */
  agreement: number;
}

export const DEFAULT_PRIOR: PriorOptions = {
  strength: 4,
  belief: 0.75,
  decay: 0.5,
  humanWeight: 3,
  judgeWeight: 1,
  agreement: 0.5,
};

/** The serialisable part (checkpoints): observed win counts per category, winner → loser → count. */
export interface PriorState {
  tiers: Record<string, number>;
  observed: Record<string, Record<string, Record<string, number>>>;
}

const GLOBAL = '*';
const MM_ITERATIONS = 200;

export class CalibratedPrior {
  private observed = new Map<string, Map<string, Map<string, number>>>();
  private cache = new Map<string, Map<string, number>>();
  /** Configured tier of every source seen so far (lower = preferred). */
  private tiers = new Map<string, number>();

  constructor(private readonly o: PriorOptions = DEFAULT_PRIOR) {
    if (!(o.belief >= 0.5 && o.belief < 1))
      throw new Error(`prior: belief must be in [0.5, 1), got ${o.belief}`);
    if (!(o.decay >= 0 && o.decay <= 1)) throw new Error(`prior: decay must be in [0, 1], got ${o.decay}`);
    for (const k of ['strength', 'humanWeight', 'judgeWeight', 'agreement'] as const) {
      if (!(o[k] >= 0 && Number.isFinite(o[k]))) throw new Error(`prior: ${k} must be finite and ≥ 0`);
    }
  }

  /** Makes a source known with its configured tier (the first registration wins). */
  registerSource(name: string, tier: number): void {
    if (this.tiers.has(name)) return;
    this.tiers.set(name, tier);
    this.cache.clear();
  }

  /** Called when a new iteration starts: older evidence counts less. */
  beginIteration(): void {
    for (const byWinner of this.observed.values())
      for (const row of byWinner.values()) for (const [k, v] of row) row.set(k, v * this.o.decay);
    this.cache.clear();
  }

  /** One verdict: `winners` (the better side's sources) beat `losers`, with weight `w` comparisons. */
  observe(
    category: string | undefined,
    winners: readonly string[],
    losers: readonly string[],
    w: number,
  ): void {
    if (!(w > 0) || winners.length === 0 || losers.length === 0) return;
    const share = w / (winners.length * losers.length);
    for (const cat of category === undefined ? [GLOBAL] : [category, GLOBAL]) {
      let byWinner = this.observed.get(cat);
      if (!byWinner) this.observed.set(cat, (byWinner = new Map()));
      for (const a of winners) {
        let row = byWinner.get(a);
        if (!row) byWinner.set(a, (row = new Map()));
        for (const b of losers) if (a !== b) row.set(b, (row.get(b) ?? 0) + share);
      }
    }
    this.cache.clear();
  }

  observeHuman(category: string | undefined, winners: readonly string[], losers: readonly string[]): void {
    this.observe(category, winners, losers, this.o.humanWeight);
  }

  observeJudge(
    category: string | undefined,
    winners: readonly string[],
    losers: readonly string[],
    confidence: number,
  ): void {
    this.observe(category, winners, losers, this.o.judgeWeight * confidence);
  }

  /** Fitted log-strengths of every known source in `category` (mean 0). */
  strengths(category: string | undefined): Map<string, number> {
    const cat = category ?? GLOBAL;
    const hit = this.cache.get(cat);
    if (hit) return hit;
    const fitted = this.fit(cat);
    this.cache.set(cat, fitted);
    return fitted;
  }

  /** Log-strength of a candidate written by `sources` (its best source plus the agreement bonus). */
  score(category: string | undefined, sources: readonly string[]): number {
    const s = this.strengths(category);
    const worst = Math.min(...s.values());
    const best = Math.max(...sources.map((x) => s.get(x) ?? worst));
    return best + this.o.agreement * Math.log(new Set(sources).size);
  }

  /** P(a candidate from `a` beats one from `b`) under the prior. */
  probability(category: string | undefined, a: readonly string[], b: readonly string[]): number {
    return sigmoid(this.score(category, a) - this.score(category, b));
  }

  /** P(source beats the policy) for every source: the per-source win rates reported per iteration. */
  winRatesVs(category: string | undefined, against: string): Record<string, number> {
    const s = this.strengths(category);
    const ref = s.get(against) ?? 0;
    const out: Record<string, number> = {};
    for (const [k, v] of [...s].sort(([x], [y]) => (x < y ? -1 : 1))) out[k] = sigmoid(v - ref);
    return out;
  }

  categories(): string[] {
    return [...this.observed.keys()].filter((c) => c !== GLOBAL).sort();
  }

  getState(): PriorState {
    const tiers = Object.fromEntries(this.tiers);
    const observed: PriorState['observed'] = {};
    for (const [cat, byWinner] of this.observed) {
      observed[cat] = {};
      for (const [a, row] of byWinner) observed[cat][a] = Object.fromEntries(row);
    }
    return { tiers, observed };
  }

  setState(state: PriorState): void {
    this.tiers = new Map(Object.entries(state.tiers));
    this.observed = new Map(
      Object.entries(state.observed).map(([cat, byWinner]) => [
        cat,
        new Map(Object.entries(byWinner).map(([a, row]) => [a, new Map(Object.entries(row))])),
      ]),
    );
    this.cache.clear();
  }

  /** Wins w[a][b] = pseudo-comparisons from the tiers + observed counts; then Bradley–Terry by MM. */
  private fit(cat: string): Map<string, number> {
    const byWinner = this.observed.get(cat);
    const names = new Set(this.tiers.keys());
    for (const [a, row] of byWinner ?? []) {
      names.add(a);
      for (const b of row.keys()) names.add(b);
    }
    const src = [...names].sort();
    const worstTier = Math.max(0, ...this.tiers.values()) + 1;
    const tier = (x: string) => this.tiers.get(x) ?? worstTier;
    const n = src.length;
    const wins = Array.from({ length: n }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const [ti, tj] = [tier(src[i]), tier(src[j])];
        const pseudo = ti < tj ? this.o.belief : ti > tj ? 1 - this.o.belief : 0.5;
        wins[i][j] = this.o.strength * pseudo + (byWinner?.get(src[i])?.get(src[j]) ?? 0);
      }
    }
    // A tiny symmetric floor keeps the MM fit finite when a source has only wins or only losses.
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) wins[i][j] += 1e-3;
    let pi = new Float64Array(n).fill(1);
    for (let it = 0; it < MM_ITERATIONS; it++) {
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let w = 0;
        let den = 0;
        for (let j = 0; j < n; j++) {
          if (i === j) continue;
          w += wins[i][j];
          den += (wins[i][j] + wins[j][i]) / (pi[i] + pi[j]);
        }
        next[i] = den > 0 ? w / den : pi[i];
      }
      const g = Math.exp(next.reduce((acc, v) => acc + Math.log(v), 0) / n);
      let delta = 0;
      for (let i = 0; i < n; i++) {
        next[i] /= g;
        delta = Math.max(delta, Math.abs(next[i] - pi[i]));
      }
      pi = next;
      if (delta < 1e-12) break;
    }
    return new Map(src.map((s, i) => [s, Math.log(pi[i])]));
  }
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function logit(p: number): number {
  return Math.log(p / (1 - p));
}
