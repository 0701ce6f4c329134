// SIMULATED human feedback for experiments: the task's gold scorer answers disputes, up to a budget of
// labels per iteration. It is not a human; reports must call it "oracle (simulated)". A dispute on a
// prompt the scorer cannot score (no answer in the task) stays unresolved and costs no budget.
//
// Disputes are labelled in the order given; once the iteration's budget is spent the rest stay
// unresolved (the correction's fallback applies). Equal gold scores are labelled 'tie'.
import type { Dispute, HumanFeedback, HumanLabel } from './human-feedback.js';

export interface OracleFeedbackOptions {
  /** Labels allowed per iteration (integer ≥ 0). */
  budgetPerIteration: number;
  /** The task's gold scorer (Task.gold); undefined: no gold for that prompt. */
  score: (prompt: string, response: string) => number | undefined;
}

export interface OracleFeedbackState {
  iteration: number;
  spentThisIteration: number;
  spentTotal: number;
}

export class OracleFeedback implements HumanFeedback {
  readonly name = 'oracle (simulated human feedback: gold scorer)';
  readonly simulated = true;
  readonly budgetPerIteration: number;
  private readonly score: (prompt: string, response: string) => number | undefined;
  private state: OracleFeedbackState = { iteration: 0, spentThisIteration: 0, spentTotal: 0 };

  constructor(options: OracleFeedbackOptions) {
    const b = options.budgetPerIteration;
    if (!Number.isInteger(b) || b < 0)
      throw new Error(`oracle feedback: budgetPerIteration must be an integer ≥ 0, got ${b}`);
    this.budgetPerIteration = b;
    this.score = options.score;
  }

  /** Starts a new iteration's budget. */
  beginIteration(iteration: number): void {
    this.state = { ...this.state, iteration, spentThisIteration: 0 };
  }

  get remaining(): number {
    return this.budgetPerIteration - this.state.spentThisIteration;
  }

  get spentThisIteration(): number {
    return this.state.spentThisIteration;
  }

  get spentTotal(): number {
    return this.state.spentTotal;
  }

  /** For checkpoints: a resumed run must not get its spent budget back. */
  getState(): OracleFeedbackState {
    return { ...this.state };
  }

  setState(state: OracleFeedbackState): void {
    const ok = [state.iteration, state.spentThisIteration, state.spentTotal].every(
      (n) => Number.isInteger(n) && n >= 0,
    );
    if (!ok || state.spentThisIteration > state.spentTotal) {
      throw new Error(`oracle feedback: invalid state ${JSON.stringify(state)}`);
    }
    this.state = { ...state };
  }

  async label(disputes: readonly Dispute[]): Promise<Map<string, HumanLabel | undefined>> {
    const out = new Map<string, HumanLabel | undefined>();
    for (const d of disputes) {
      const sa = this.remaining > 0 ? this.score(d.prompt, d.a.text) : undefined;
      const sb = sa === undefined ? undefined : this.score(d.prompt, d.b.text);
      if (sa === undefined || sb === undefined) {
        out.set(d.id, undefined);
        continue;
      }
      this.state.spentThisIteration++;
      this.state.spentTotal++;
      out.set(d.id, sa > sb ? 'a' : sb > sa ? 'b' : 'tie');
    }
    return out;
  }
}
