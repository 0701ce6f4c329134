// The built-in demo task behind the Task interface: the `tso` partition drawn with the run seed (or a
// JSONL prompt file), the first N of the fixed held-out set, the gold scorer, kinds as categories.
import { readPrompts } from '../../data/formats.js';
import type { Task, TaskPrompt } from '../task.js';
import { goldScore } from './gold.js';
import { kindOf, parseTaskPrompt, TASK_KINDS, type TaskKind } from './grammar.js';
import { demoPlausibility } from './plausibility.js';
import { heldoutPrompts, makeDataset } from './splits.js';

export interface DemoTaskOptions {
  train_prompts: number;
  heldout_prompts: number;
  human_fraction: number;
  kinds: readonly TaskKind[];
  /** Train prompts from this JSONL file instead of the built-in generator. */
  prompts_file?: string;
}

const DEFAULTS: DemoTaskOptions = {
  train_prompts: 512,
  heldout_prompts: 200,
  human_fraction: 0.25,
  kinds: TASK_KINDS,
};

/** Gold of a demo prompt; undefined outside the grammar (the scorer itself throws there). */
export function demoGold(prompt: string, response: string): number | undefined {
  return parseTaskPrompt(prompt) ? goldScore(prompt, response) : undefined;
}

export function demoTask(options: Partial<DemoTaskOptions> = {}): Task {
  const o = { ...DEFAULTS, ...options };
  return {
    name: 'demo',
    async train(seed) {
      const rows: TaskPrompt[] = o.prompts_file
        ? (await readPrompts(o.prompts_file)).map((p, i) => ({
            id: p.id ?? `p${i}`,
            prompt: p.prompt,
            human_response: p.human_response,
          }))
        : makeDataset({
            seed,
            n: o.train_prompts,
            kinds: o.kinds,
            split: 'tso',
            humanFraction: o.human_fraction,
          });
      // The prompt's kind is its category: the calibrated prior keeps evidence per kind (no gold).
      for (const p of rows) {
        const kind = kindOf(p.prompt);
        if (kind) p.category = kind;
      }
      return rows;
    },
    heldout: () =>
      Promise.resolve(
        heldoutPrompts(o.heldout_prompts, o.kinds).map((e) => ({ prompt: e.prompt, answer: e.answer })),
      ),
    gold: demoGold,
    category: (prompt) => kindOf(prompt) ?? undefined,
    plausibility: demoPlausibility,
  };
}
