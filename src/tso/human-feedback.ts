// The human-feedback contract of the correction step (DESIGN.md step 4). Implementations: the
// budgeted, simulated `OracleFeedback` (oracle-feedback.ts) and a JSONL labelling queue.
import type { Winner } from '../judges/types.js';
import type { Candidate } from './prior.js';

/** 'a' = the prior-preferred response, 'b' = the one the AI preferred, 'tie' = no preference. */
export type HumanLabel = 'a' | 'b' | 'tie';

/**
 * A pair the correction could not settle alone (the judge contradicts the prior, or the combined
 * confidence is below the threshold); self-contained so a labelling queue can store it as JSON.
 */
export interface Dispute {
  /** Stable across runs and resumes: `${promptId}:${a.id}|${b.id}`. */
  id: string;
  promptId: string;
  prompt: string;
  /** The prior-preferred candidate. */
  a: Candidate;
  b: Candidate;
  /** The judge's both-orders verdict in this (a, b) frame. */
  ai: { winner: Winner; confidence: number };
  /** P(a ≻ b) under the calibrated prior. */
  prior?: number;
}

/** A source of human labels. `undefined` in the map (or a missing id) means unresolved. */
export interface HumanFeedback {
  readonly name: string;
  label(disputes: readonly Dispute[]): Promise<Map<string, HumanLabel | undefined>>;
}
