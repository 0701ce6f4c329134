// Evaluation of a task without gold: the AI judge compares the policy's greedy response with the
// baseline's (the initial policy), asked both orders to cancel position bias. Win 1, tie ½, loss 0.
import { compareBothOrders } from '../judges/both-orders.js';
import type { Judge } from '../judges/types.js';
import { mean } from './eval-metrics.js';

/** The judge's win rate of `response` over `baseline_response` across the rows that have one. */
export async function judgeWinRate(
  judge: Judge,
  rows: readonly { prompt: string; response: string; baseline_response?: string }[],
): Promise<number | undefined> {
  const scores: number[] = [];
  for (const r of rows) {
    if (r.baseline_response === undefined) continue;
    // The same text cannot be better than itself: no question to ask.
    if (r.response === r.baseline_response) {
      scores.push(0.5);
      continue;
    }
    const v = await compareBothOrders(judge, r.prompt, r.response, r.baseline_response);
    scores.push(v.winner === 'a' ? 1 : v.winner === 'b' ? 0 : 0.5);
  }
  return scores.length === 0 ? undefined : mean(scores);
}
