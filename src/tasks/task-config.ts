// `run.task` of a run config: which task a run trains and evaluates on. A `task:` without `kind` is the
// demo (the keys it always had), so older configs load unchanged.
import { z } from 'zod';
import { GOLD_MODES } from './jsonl-task.js';

/** What a prompt longer than a model's context becomes: a load error (default) or skipped and counted. */
const TooLong = z.enum(['error', 'skip']).default('error');

export const DemoTaskSchema = z.strictObject({
  kind: z.literal('demo'),
  train_prompts: z.number().int().min(1).default(512),
  heldout_prompts: z.number().int().min(1).default(200),
  human_fraction: z.number().min(0).max(1).default(0.25),
  kinds: z
    .array(z.enum(['sort', 'rev', 'add']))
    .min(1)
    .default(['sort', 'rev', 'add']),
  /** Optional JSONL prompt file {id?, prompt, human_response?} instead of the built-in task. */
  prompts_file: z.string().optional(),
  too_long: TooLong,
});

export const JsonlTaskSchema = z.strictObject({
  kind: z.literal('jsonl'),
  train: z.string().min(1),
  heldout: z.string().min(1),
  gold: z.enum(GOLD_MODES).default('none'),
  /** Jinja chat template for conversational prompts (sees `messages`); default: src/tasks/chat-render.ts. */
  chat_template: z.string().min(1).optional(),
  too_long: TooLong,
});

export const ModuleTaskSchema = z.strictObject({
  kind: z.literal('module'),
  path: z.string().min(1),
  too_long: TooLong,
});

const withDemoKind = (v: unknown): unknown =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !('kind' in v) ? { kind: 'demo', ...v } : v;

export const TaskConfigSchema = z
  .preprocess(withDemoKind, z.discriminatedUnion('kind', [DemoTaskSchema, JsonlTaskSchema, ModuleTaskSchema]))
  .default({
    kind: 'demo',
    train_prompts: 512,
    heldout_prompts: 200,
    human_fraction: 0.25,
    kinds: ['sort', 'rev', 'add'],
    too_long: 'error',
  });

export type TaskConfig = z.infer<typeof TaskConfigSchema>;

/** False when the task certainly has no gold scorer (a module's is known only once it is loaded). */
export function mayHaveGold(t: TaskConfig): boolean {
  return t.kind !== 'jsonl' || t.gold !== 'none';
}
