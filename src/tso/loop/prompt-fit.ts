// Every prompt is checked against every model's context when the task loads: a prompt that leaves no
// room for one response token would be cut silently by generation. It is an error naming `file:line`,
// or (task.too_long: skip) dropped and counted in the report.
import { DataError, type DataProblem } from '../../data/errors.js';
import { promptIds } from '../../model/prompt-format.js';
import type { Task } from '../../tasks/task.js';
import type { ModelContext } from './session.js';

export interface PromptFit {
  keep<T extends { prompt: string }>(rows: readonly T[]): T[];
  /** Prompts dropped so far (skip mode). */
  skipped(): number;
}

export function fitPrompts(task: Task, contexts: readonly ModelContext[], mode: 'error' | 'skip'): PromptFit {
  const smallest = [...contexts].sort((a, b) => a.blockSize - b.blockSize)[0];
  let skipped = 0;
  return {
    skipped: () => skipped,
    keep<T extends { prompt: string }>(rows: readonly T[]): T[] {
      if (!smallest) return [...rows];
      const byFile = new Map<string, DataProblem[]>();
      const out: T[] = [];
      for (const r of rows) {
        const n = promptIds(r.prompt).length;
        // The prompt's tokens (BOS, bytes, newline) plus at least one response token must fit.
        if (n < smallest.blockSize) {
          out.push(r);
          continue;
        }
        skipped++;
        const o = task.origin?.(r.prompt) ?? { file: `task ${task.name}`, line: out.length + skipped };
        const reason = `prompt is ${n} tokens, model ${smallest.name} has context ${smallest.blockSize}`;
        const list = byFile.get(o.file) ?? [];
        list.push({ line: o.line, reason });
        byFile.set(o.file, list);
      }
      if (mode === 'error')
        for (const [file, problems] of byFile) throw DataError.fromProblems(file, problems);
      return out;
    },
  };
}
