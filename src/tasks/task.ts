// The Task contract: what the TSO loop, the judges, the oracle and the evaluation know about a task.
// The algorithm (src/tso/) never imports a concrete task; it is handed a Task by the run's session.
//
// A task gives training prompts, a fixed held-out set, and optionally a gold scorer in [0, 1] (used only
// by evaluation, by diagnostics measured after the fact, and by the simulated human), categories (the
// calibrated prior keeps its evidence per category; evaluation reports per category) and cheap
// plausibility checks (the heuristic judge's view of a response; never the answer).

/** One training prompt of a run. */
export interface TaskPrompt {
  id: string;
  prompt: string;
  /** A human-written response, joins the candidate pool. */
  human_response?: string;
  category?: string;
  /** The conversation a rendered prompt came from (TRL's conversational shape), kept for export. */
  messages?: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

/** One held-out prompt; `answer` (when known) also gives the gold answer's log-probability metric. */
export interface HeldoutItem {
  prompt: string;
  answer?: string;
  category?: string;
}

/** Where a prompt came from (a file and its 1-based line), for errors naming `file:line`. */
export interface PromptOrigin {
  file: string;
  line: number;
}

export interface Task {
  /** A short name for reports (`demo`, the train file's name, the module's). */
  readonly name: string;
  /** The run's training prompts; the same seed gives the same list. */
  train(seed: number): Promise<TaskPrompt[]>;
  /** The fixed held-out set: the same for every seed. */
  heldout(): Promise<HeldoutItem[]>;
  /**
   * Gold score of `response` in [0, 1] (1 = right), or undefined for a prompt the task cannot score.
   * Absent: the task has no gold; evaluation then uses the judge's win rate against the initial policy.
   */
  readonly gold?: (prompt: string, response: string) => number | undefined;
  /** The category of a prompt (e.g. its kind), or undefined. */
  readonly category?: (prompt: string) => string | undefined;
  /** Share in [0, 1] of cheap checks a response passes (not gold), or undefined: no opinion. */
  readonly plausibility?: (prompt: string, response: string) => number | undefined;
  /** The file and line a prompt was read from, when it came from a file. */
  readonly origin?: (prompt: string) => PromptOrigin | undefined;
}

/** Throws unless a gold score is a number in [0, 1] (module tasks are user code: never trust them). */
export function checkGold(task: string, prompt: string, score: number | undefined): number | undefined {
  if (score === undefined) return undefined;
  if (typeof score !== 'number' || !(score >= 0 && score <= 1))
    throw new Error(
      `task ${task}: gold score of prompt ${JSON.stringify(prompt)} must be in [0, 1], got ${String(score)}`,
    );
  return score;
}
