// The demo's AI judge: cheap, deterministic, and deliberately imperfect, so that the human
// correction step of TSO has real errors to catch.
//
// How it decides (responses are trimmed first):
// 1. Plausibility p ∈ [0, 1] of each response = share of cheap checks it passes. It never computes
//    the full answer:
//      sort (5 checks; the fully checkable kind — all five pass only for the right answer):
//            only digits and spaces (and at least one digit) · single digits separated by single
//            spaces · as many digits as the input (3–9) · the same multiset of digits · ascending
//      rev (5 checks; the middle is unchecked): only a–z · the input's length (3–10) · the same
//            multiset of letters · first letter = last input letter · last letter = first input letter
//      add (4 checks; the tens and hundreds are unchecked): only digits · no leading zero ·
//            max(x, y) ≤ value ≤ 1998 (the largest sum of two operands 0–999, so right answers always
//            pass and a padded "1" + answer usually does too) · last digit = (x + y) mod 10
// 2. Different plausibility → the more plausible wins, confidence 0.5 + 0.5·|pa − pb| (near-ties
//    are less confident).
// 3. LENGTH BIAS (documented): equally plausible responses of different lengths → the LONGER wins,
//    with confidence `lengthBiasConfidence` (default 0.55). Equal length → tie, confidence 0.5.
// 4. ERROR RATE (documented): a decisive verdict is flipped with probability `errorRate`
//    (default 0.15), keeping its confidence, i.e. the judge is confidently wrong. Ties are never
//    flipped. The coin is a hash of (seed, prompt, a, b): the same question always gets the same
//    answer regardless of call order, and the two orders of a pair get independent coins.
// The checks come from the task (Task.plausibility); a prompt they have no opinion on (outside the
// task grammar) gets "tie, confidence 0", never an exception.
import { hashUnit } from '../tso/rng.js';
import type { Task } from '../tasks/task.js';
import type { Judge, Verdict, Winner } from './types.js';

export const DEFAULT_JUDGE_ERROR_RATE = 0.15;
export const DEFAULT_LENGTH_BIAS_CONFIDENCE = 0.55;

export interface HeuristicJudgeOptions {
  seed?: number | string;
  /** Probability of flipping a decisive verdict, in [0, 1]. */
  errorRate?: number;
  /** Confidence of a verdict decided by the length bias alone, in [0, 1]. */
  lengthBiasConfidence?: number;
  /** The task's cheap checks (the demo's: src/tasks/demo/plausibility.ts); without them: no opinion. */
  task?: Pick<Task, 'plausibility'>;
}

function unitOption(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1))
    throw new Error(`heuristic judge: ${what} must be in [0, 1], got ${v}`);
  return v;
}

export class HeuristicJudge implements Judge {
  readonly name = 'heuristic';
  readonly seed: number | string;
  readonly errorRate: number;
  readonly lengthBiasConfidence: number;
  private readonly plausibility: Task['plausibility'];

  constructor(options: HeuristicJudgeOptions = {}) {
    this.seed = options.seed ?? 0;
    this.errorRate = unitOption(options.errorRate, DEFAULT_JUDGE_ERROR_RATE, 'errorRate');
    this.lengthBiasConfidence = unitOption(
      options.lengthBiasConfidence,
      DEFAULT_LENGTH_BIAS_CONFIDENCE,
      'lengthBiasConfidence',
    );
    this.plausibility = options.task?.plausibility;
  }

  /** Synchronous core of `compare` (the verdict depends only on the seed and the inputs). */
  judge(prompt: string, a: string, b: string): Verdict {
    const pa = this.plausibility?.(prompt, a);
    const pb = this.plausibility?.(prompt, b);
    if (pa === undefined || pb === undefined)
      return { winner: 'tie', confidence: 0, raw: 'heuristic: prompt outside the task grammar' };
    const la = Array.from(a.trim()).length;
    const lb = Array.from(b.trim()).length;
    let winner: Winner;
    let confidence: number;
    let rule: string;
    if (pa !== pb) {
      winner = pa > pb ? 'a' : 'b';
      confidence = 0.5 + 0.5 * Math.abs(pa - pb);
      rule = 'plausibility';
    } else if (la !== lb) {
      winner = la > lb ? 'a' : 'b';
      confidence = this.lengthBiasConfidence;
      rule = 'length-bias';
    } else {
      winner = 'tie';
      confidence = 0.5;
      rule = 'tie';
    }
    const flipped = winner !== 'tie' && hashUnit(this.seed, 'heuristic-judge', prompt, a, b) < this.errorRate;
    if (flipped) winner = winner === 'a' ? 'b' : 'a';
    const raw = `heuristic: p(a)=${pa.toFixed(2)} p(b)=${pb.toFixed(2)} rule=${rule}${flipped ? ' flipped' : ''}`;
    return { winner, confidence, raw };
  }

  async compare(prompt: string, a: string, b: string): Promise<Verdict> {
    return this.judge(prompt, a, b);
  }
}
