// A task the project has never seen, written as JSONL files for tests: copy or upper-case a short word.
// Prompts are short (a tiny test model has a 40-token context).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/tso/rng.js';

export interface ToyRow {
  id: string;
  /** A string, or (conversational rows) TRL's message list. */
  prompt: string | { role: string; content: string }[];
  answer?: string;
  human_response?: string;
  category: string;
}

function word(rng: Rng): string {
  const n = rng.int(3, 5);
  return Array.from({ length: n }, () => String.fromCharCode(97 + rng.below(26))).join('');
}

/**
 * `n` rows from `seed`; every third row carries a human response when `human` is set; with
 * `conversational`, every fourth row's prompt is a (system, user) message list.
 */
export function toyRows(
  seed: string,
  n: number,
  o: { answers: boolean; human?: boolean; conversational?: boolean },
): ToyRow[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, (_, i) => {
    const w = `${word(rng)}${i}`;
    const category = i % 2 === 0 ? 'copy' : 'upper';
    const answer = category === 'copy' ? w : w.toUpperCase();
    const text = `${category}: ${w}`;
    const prompt =
      o.conversational && i % 4 === 1
        ? [
            { role: 'system', content: 'x' },
            { role: 'user', content: text },
          ]
        : text;
    const row: ToyRow = { id: `${seed}-${i}`, prompt, category };
    if (o.answers) row.answer = answer;
    if (o.human && i % 3 === 0) row.human_response = answer;
    return row;
  });
}

export function writeRows(dir: string, name: string, rows: readonly object[]): string {
  const file = join(dir, name);
  writeFileSync(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  return file;
}
