// Asking a judge both orders cancels position bias (DESIGN.md step 3).
//
// The judge is asked (a, b) and (b, a); the second answer is mapped back to the (a, b) frame.
// Unparsable answers count as "tie, confidence 0". Combination:
//   both name X              → X,   confidence = mean of the two
//   one names X, other tie   → X,   confidence = c_X / 2 (the tie contributes 0, so at most 0.5)
//   both tie                 → tie, confidence = mean
//   they name different ones → tie, confidence 0 (the judge contradicted itself: no information)
// A judge that always picks the first-shown answer therefore yields only ties.
import { assertVerdict } from './types.js';
import type { BothOrdersVerdict, Judge, Verdict, Winner } from './types.js';

function swap(w: Winner): Winner {
  return w === 'a' ? 'b' : w === 'b' ? 'a' : 'tie';
}

function effective(v: Verdict): { winner: Winner; confidence: number } {
  return v.unparsable ? { winner: 'tie', confidence: 0 } : { winner: v.winner, confidence: v.confidence };
}

/** Combines a forward (a, b) verdict with a backward (b, a) verdict as documented above. */
export function combineOrders(forward: Verdict, backward: Verdict): BothOrdersVerdict {
  const f = effective(forward);
  const bRaw = effective(backward);
  const b = { winner: swap(bRaw.winner), confidence: bRaw.confidence };
  const mean = (f.confidence + b.confidence) / 2;
  let winner: Winner;
  let confidence: number;
  let consistent = true;
  if (f.winner === b.winner) {
    winner = f.winner;
    confidence = mean;
  } else if (f.winner === 'tie' || b.winner === 'tie') {
    // The tie's own confidence is confidence in "no difference", not in X: it must not add to X.
    const named = f.winner === 'tie' ? b : f;
    winner = named.winner;
    confidence = named.confidence / 2;
  } else {
    winner = 'tie';
    confidence = 0;
    consistent = false;
  }
  const raws = [forward.raw, backward.raw].filter((r): r is string => r !== undefined);
  const out: BothOrdersVerdict = { winner, confidence, consistent, forward, backward };
  if (raws.length > 0) out.raw = raws.join(' || ');
  if (forward.unparsable && backward.unparsable) out.unparsable = true;
  return out;
}

/** Asks `judge` both orders (sequentially, so a rate-limited judge sees one request at a time). */
export async function compareBothOrders(
  judge: Judge,
  prompt: string,
  a: string,
  b: string,
): Promise<BothOrdersVerdict> {
  const forward = await judge.compare(prompt, a, b);
  assertVerdict(forward, judge.name);
  const backward = await judge.compare(prompt, b, a);
  assertVerdict(backward, judge.name);
  return combineOrders(forward, backward);
}
