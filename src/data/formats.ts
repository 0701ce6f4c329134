import { z } from 'zod';
import { DataError, MAX_REPORTED_PROBLEMS, type DataProblem } from './errors.js';
import { formatIssues } from './issues.js';
import { readJsonl, writeJsonl } from './jsonl.js';

/*
 * Record formats of the data files. Top-level records are loose objects: unknown keys are kept
 * and written back, because these files are shared with other tools (DPO trainers add their own
 * columns, datasets carry metadata) and dropping or rejecting them would lose user data.
 * Lineage is ours alone, so it is strict: a misspelt lineage field is a bug, not a column.
 */

export const PromptRecordSchema = z.looseObject({
  id: z.string().optional(),
  prompt: z.string().min(1),
  human_response: z.string().optional(),
});
export type PromptRecord = z.infer<typeof PromptRecordSchema>;

export const ResponseSourceSchema = z.enum(['human', 'generator', 'policy']);
export type ResponseSource = z.infer<typeof ResponseSourceSchema>;

/** Where one response came from: who sampled it, with which weights and sampling parameters. */
export const ResponseLineageSchema = z.strictObject({
  source: ResponseSourceSchema,
  node: z.string().optional(),
  model: z.string().optional(),
  /** Prior rank: 0 = human, then generator tiers as configured, policy samples last. */
  tier: z.int().min(0),
  weight_version: z.string().optional(),
  temperature: z.number().min(0).optional(),
  top_k: z.int().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  seed: z.int().optional(),
  /** Other sources that wrote the same text (identical answers are merged into one candidate). */
  also_written_by: z.array(z.string()).optional(),
});
export type ResponseLineage = z.infer<typeof ResponseLineageSchema>;

export const JudgeVerdictSchema = z.strictObject({
  verdict: z.enum(['a', 'b', 'tie']),
  confidence: z.number().min(0).max(1),
  judge: z.string(),
});
export type JudgeVerdict = z.infer<typeof JudgeVerdictSchema>;

export const PairLineageSchema = z.strictObject({
  chosen: ResponseLineageSchema,
  rejected: ResponseLineageSchema,
  judge: JudgeVerdictSchema.optional(),
  /** The human's answer on a disputed pair; null = asked but unresolved. */
  human_label: z.enum(['chosen', 'rejected']).nullable().optional(),
  iteration: z.int().min(0).optional(),
  minibatch: z.int().min(0).optional(),
});
export type PairLineage = z.infer<typeof PairLineageSchema>;

/** A response may legitimately be empty (a model that emits EOS at once); the prompt may not. */
export const PreferencePairSchema = z.looseObject({
  id: z.string().optional(),
  prompt: z.string().min(1),
  chosen: z.string(),
  rejected: z.string(),
  /** Scale of the pair in the loss; grows with tier gap and judge confidence. */
  weight: z.number().positive().optional(),
  lineage: PairLineageSchema.optional(),
});
export type PreferencePair = z.infer<typeof PreferencePairSchema>;

export function readPrompts(file: string): Promise<PromptRecord[]> {
  return readJsonl(file, PromptRecordSchema);
}

export function readPairs(file: string): Promise<PreferencePair[]> {
  return readJsonl(file, PreferencePairSchema);
}

/**
 * Validates every pair before writing anything (a file we could not read back is worse than no
 * file), then replaces `file` atomically. Problems are reported by the line they would occupy.
 */
export async function writePairs(file: string, pairs: readonly PreferencePair[]): Promise<void> {
  const problems: DataProblem[] = [];
  let bad = 0;
  pairs.forEach((pair, i) => {
    const res = PreferencePairSchema.safeParse(pair);
    if (res.success) return;
    bad++;
    if (problems.length >= MAX_REPORTED_PROBLEMS) return;
    const msgs = formatIssues(res.error.issues, pair, PreferencePairSchema, { showValues: false });
    problems.push({ line: i + 1, reason: msgs.map((m) => m.message).join('; ') });
  });
  if (bad > 0) throw DataError.fromProblems(file, problems, bad);
  await writeJsonl(file, pairs);
}
