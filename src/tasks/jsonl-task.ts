// A task written as two JSONL files (`kind: jsonl`): training prompts and a fixed held-out set.
// Rows: {"prompt": "..." | [{"role": "user", "content": "..."}], "answer"?, "human_response"?, "id"?,
// "category"?}; other columns are ignored. With `gold: exact | normalized`, a response scores 1 when it
// equals the row's answer (trimmed; `normalized` also folds case and runs of whitespace), else 0.
import path from 'node:path';
import { z } from 'zod';
import { DataError, type DataProblem } from '../data/errors.js';
import { readJsonl, readJsonlLines } from '../data/jsonl.js';
import { ChatMessageSchema, chatRenderer, type ChatMessage, type ChatRenderer } from './chat-render.js';
import type { HeldoutItem, PromptOrigin, Task, TaskPrompt } from './task.js';

export const GOLD_MODES = ['exact', 'normalized', 'none'] as const;
export type GoldMode = (typeof GOLD_MODES)[number];

export const TaskRowSchema = z.looseObject({
  id: z.string().min(1).optional(),
  prompt: z.union([z.string().min(1), z.array(ChatMessageSchema).min(1)]),
  answer: z.string().optional(),
  human_response: z.string().optional(),
  category: z.string().min(1).optional(),
});

export interface JsonlTaskOptions {
  train: string;
  heldout: string;
  gold: GoldMode;
  /** Jinja template rendering conversational prompts (default: chat-render.ts). */
  chat_template?: string;
}

interface Row {
  id?: string;
  prompt: string;
  answer?: string;
  human_response?: string;
  category?: string;
  messages?: ChatMessage[];
  line: number;
}

const fold = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** The gold scorer of a mode: 1 for the answer, 0 otherwise; undefined without an answer. */
export function answerScorer(mode: GoldMode): ((response: string, answer: string) => number) | undefined {
  if (mode === 'exact') return (r, a) => (r.trim() === a.trim() ? 1 : 0);
  if (mode === 'normalized') return (r, a) => (fold(r) === fold(a) ? 1 : 0);
  return undefined;
}

/** Reads and checks one file: every row valid (all bad lines reported), no prompt twice. */
async function readRows(file: string, needAnswer: boolean, render: ChatRenderer): Promise<Row[]> {
  await readJsonl(file, TaskRowSchema); // all-or-nothing: every bad line in one DataError
  const rows: Row[] = [];
  const problems: DataProblem[] = [];
  const seen = new Map<string, number>();
  for await (const { line, value } of readJsonlLines(file, TaskRowSchema)) {
    const prompt = typeof value.prompt === 'string' ? value.prompt : render(value.prompt);
    const first = seen.get(prompt);
    if (first !== undefined) problems.push({ line, reason: `prompt repeats line ${first}` });
    else if (needAnswer && value.answer === undefined)
      problems.push({ line, reason: "answer: required by the task's gold scorer (task.gold)" });
    seen.set(prompt, first ?? line);
    const messages = typeof value.prompt === 'string' ? undefined : value.prompt;
    rows.push({ ...value, prompt, line, ...(messages ? { messages } : {}) });
  }
  if (problems.length > 0) throw DataError.fromProblems(file, problems);
  return rows;
}

export async function jsonlTask(o: JsonlTaskOptions): Promise<Task> {
  const score = answerScorer(o.gold);
  const render = chatRenderer(o.chat_template, 'task.chat_template');
  const train = await readRows(o.train, false, render);
  const heldout = await readRows(o.heldout, score !== undefined, render);
  const byPrompt = new Map<string, Row & { file: string }>();
  for (const r of train) byPrompt.set(r.prompt, { ...r, file: o.train });
  // A held-out row's answer and category win: evaluation is what they are for.
  for (const r of heldout) byPrompt.set(r.prompt, { ...r, file: o.heldout });
  const task: Task = {
    name: path.basename(o.train, '.jsonl'),
    train: () =>
      Promise.resolve(
        train.map((r, i): TaskPrompt => {
          const p: TaskPrompt = { id: r.id ?? `p${i}`, prompt: r.prompt };
          if (r.human_response !== undefined) p.human_response = r.human_response;
          if (r.category !== undefined) p.category = r.category;
          if (r.messages !== undefined) p.messages = r.messages;
          return p;
        }),
      ),
    heldout: () =>
      Promise.resolve(
        heldout.map((r): HeldoutItem => {
          const h: HeldoutItem = { prompt: r.prompt };
          if (r.answer !== undefined) h.answer = r.answer;
          if (r.category !== undefined) h.category = r.category;
          return h;
        }),
      ),
    category: (prompt) => byPrompt.get(prompt)?.category,
    origin: (prompt): PromptOrigin | undefined => {
      const r = byPrompt.get(prompt);
      return r ? { file: r.file, line: r.line } : undefined;
    },
  };
  if (score) {
    return {
      ...task,
      gold: (prompt, response) => {
        const answer = byPrompt.get(prompt)?.answer;
        return answer === undefined ? undefined : score(response, answer);
      },
    };
  }
  return task;
}
