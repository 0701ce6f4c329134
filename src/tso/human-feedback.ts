// The human-feedback contract of the correction step (DESIGN.md step 4). Implementations: the
// budgeted, simulated `OracleFeedback` (oracle-feedback.ts) and a JSONL labelling queue.
import type { Winner } from '../judges/types.js';
import type { Candidate } from './prior.js';

/** 'a' = the prior-preferred response, 'b' = the one the AI preferred, 'tie' = no preference. */
export type HumanLabel = 'a' | 'b' | 'tie';

/** A confident AI–prior disagreement, self-contained so a labelling queue can store it as JSON. */
export interface Dispute {
  /** Stable across runs and resumes: `${promptId}:${a.id}|${b.id}`. */
  id: string;
  promptId: string;
  prompt: string;
  /** The prior-preferred candidate (lower tier). */
  a: Candidate;
  /** The candidate the AI confidently preferred. */
  b: Candidate;
  ai: { winner: Winner; confidence: number };
}

/** A source of human labels. `undefined` in the map (or a missing id) means unresolved. */
export interface HumanFeedback {
  readonly name: string;
  label(disputes: readonly Dispute[]): Promise<Map<string, HumanLabel | undefined>>;
}
