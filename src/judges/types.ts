// The AI-feedback judge contract, shared by every judge plug-in (heuristic, model, openai).

export type Winner = 'a' | 'b' | 'tie';

export interface Verdict {
  winner: Winner;
  /** How sure the judge is of `winner`, in [0, 1]. */
  confidence: number;
  /** The judge's raw output, kept for lineage and debugging. */
  raw?: string;
  /** True when the judge's output could not be read; such a verdict is a tie with confidence 0. */
  unparsable?: boolean;
}

export interface Judge {
  readonly name: string;
  /** Which of two responses to `prompt` is better. `a` is shown first. */
  compare(prompt: string, a: string, b: string): Promise<Verdict>;
}

/** A verdict from asking both orders; `forward` is (a, b), `backward` is (b, a) as the judge said it. */
export interface BothOrdersVerdict extends Verdict {
  forward: Verdict;
  backward: Verdict;
  /** Both orders named the same response (a tie in one order counts as consistent with the other). */
  consistent: boolean;
}

/** Throws unless the verdict is well formed (judges may be remote; never trust their shape). */
export function assertVerdict(v: Verdict, who: string): void {
  if (v.winner !== 'a' && v.winner !== 'b' && v.winner !== 'tie') {
    throw new Error(
      `judge ${who}: verdict winner must be 'a', 'b' or 'tie', got ${JSON.stringify(v.winner)}`,
    );
  }
  if (typeof v.confidence !== 'number' || !(v.confidence >= 0 && v.confidence <= 1)) {
    throw new Error(`judge ${who}: verdict confidence must be in [0, 1], got ${String(v.confidence)}`);
  }
}
