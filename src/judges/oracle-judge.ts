// The ORACLE judge: it reads the hidden gold scorer, so it is the upper bound of AI feedback, not a
// judge. Only the `oracle-labels` ablation uses it (through runLocal's judge override); it is
// deliberately absent from make-judge.ts so that no node config can select it. Gold is otherwise only
// used by the held-out evaluation.
//
// Verdict: the response with the higher goldScore wins with confidence 1; equal scores are a tie
// (confidence 1: the oracle is sure they are equally good). Prompts the task cannot score have no
// gold answer: that is an error, not a silent tie, because an upper bound that abstains would mislead.
import type { Task } from '../tasks/task.js';
import type { Judge, Verdict } from './types.js';

export const ORACLE_JUDGE_NAME = 'oracle (gold scorer; upper bound only)';

export class OracleJudge implements Judge {
  readonly name = ORACLE_JUDGE_NAME;

  /** `gold` is the run task's scorer (Task.gold). */
  constructor(private readonly gold: NonNullable<Task['gold']>) {}

  compare(prompt: string, a: string, b: string): Promise<Verdict> {
    const ga = this.gold(prompt, a);
    const gb = this.gold(prompt, b);
    if (ga === undefined || gb === undefined)
      return Promise.reject(new Error(`oracle judge: no gold answer for prompt ${JSON.stringify(prompt)}`));
    const winner = ga > gb ? 'a' : gb > ga ? 'b' : 'tie';
    return Promise.resolve({ winner, confidence: 1, raw: `gold ${ga.toFixed(3)} vs ${gb.toFixed(3)}` });
  }
}
