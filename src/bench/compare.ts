// `tso bench --compare`: tso and the PyTorch yardstick measured in alternation (A B A B …), so the
// drift of a shared, noisy machine falls on both sides alike. Each round gives one ratio of two
// neighbouring measurements; the report is the median ratio with its min–max, never one lucky pair.

/** The figures of one side in one round that the comparison looks at. */
export interface SideFigures {
  dpo_step_ms: number;
  generate_tokens_per_s: number;
}

export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  per_round: number[];
}

export interface Comparison<T extends SideFigures, U extends SideFigures> {
  rounds: number;
  tso: T[];
  torch: U[];
  ratios: {
    /** tso's step time / PyTorch's, per round: > 1 means tso is slower. */
    dpo_step_vs_torch: RatioSummary;
    /** tso's generation tokens/s / PyTorch's, per round: > 1 means tso is faster. */
    generate_tokens_per_s_vs_torch: RatioSummary;
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function summarize(ratios: readonly number[]): RatioSummary {
  return {
    median: r3(median(ratios)),
    min: r3(Math.min(...ratios)),
    max: r3(Math.max(...ratios)),
    per_round: ratios.map(r3),
  };
}

/**
 * Runs `rounds` rounds; round i runs tso then PyTorch when i is even, PyTorch then tso when odd, so
 * neither side always gets the warmer (or the more disturbed) slot.
 */
export async function interleave<T extends SideFigures, U extends SideFigures>(
  rounds: number,
  runTso: (round: number) => Promise<T>,
  runTorch: (round: number) => Promise<U>,
  log: (line: string) => void = () => {},
): Promise<Comparison<T, U>> {
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`rounds must be an integer >= 1, got ${rounds}`);
  const tso: T[] = [];
  const torch: U[] = [];
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? ['tso', 'torch'] : ['torch', 'tso'];
    for (const side of order) {
      log(`bench: round ${i + 1}/${rounds}: ${side === 'tso' ? 'tso' : 'PyTorch'}`);
      if (side === 'tso') tso.push(await runTso(i));
      else torch.push(await runTorch(i));
    }
    const a = tso[i];
    const b = torch[i];
    log(
      `bench: round ${i + 1}/${rounds}: step ${a.dpo_step_ms} vs ${b.dpo_step_ms} ms, ` +
        `generation ${a.generate_tokens_per_s} vs ${b.generate_tokens_per_s} tokens/s`,
    );
  }
  return {
    rounds,
    tso,
    torch,
    ratios: {
      dpo_step_vs_torch: summarize(tso.map((a, i) => a.dpo_step_ms / torch[i].dpo_step_ms)),
      generate_tokens_per_s_vs_torch: summarize(
        tso.map((a, i) => a.generate_tokens_per_s / torch[i].generate_tokens_per_s),
      ),
    },
  };
}
