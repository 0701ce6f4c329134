// The task kinds behind the Task interface: JSONL rows (both prompt shapes, gold modes, file:line errors),
// a module task (shape and gold range checked), and the run.task config (demo by default, oracle refused
// without gold, naming the key).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { loadTask } from '../../src/tasks/load-task.js';
import { RunConfigSchema } from '../../src/tso/loop/run-config.js';

const dir = mkdtempSync(join(tmpdir(), 'tso-tasks-'));
const file = (name: string, lines: readonly string[]) => {
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
};
const TRAIN = file('train.jsonl', [
  JSON.stringify({ prompt: 'copy: ab', category: 'copy', human_response: 'ab' }),
  JSON.stringify({ prompt: [{ role: 'user', content: 'upper: ab' }], category: 'upper' }),
  JSON.stringify({
    prompt: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ],
  }),
]);
const HELD = file('held.jsonl', [JSON.stringify({ prompt: 'upper: cd', answer: 'C D', category: 'upper' })]);

describe('jsonl task', () => {
  it('reads both prompt shapes, categories, and scores exact or normalized answers', async () => {
    const exact = await loadTask({
      kind: 'jsonl',
      train: TRAIN,
      heldout: HELD,
      gold: 'exact',
      too_long: 'error',
    });
    const train = await exact.train(0);
    expect(train.map((t) => t.prompt)).toEqual(['copy: ab', 'upper: ab', 'system: be brief\nuser: hi']);
    expect(train.map((t) => t.category)).toEqual(['copy', 'upper', undefined]);
    expect(train[0].human_response).toBe('ab');
    expect(await exact.heldout()).toEqual([{ prompt: 'upper: cd', answer: 'C D', category: 'upper' }]);
    expect(exact.gold?.('upper: cd', ' C D\n')).toBe(1);
    expect(exact.gold?.('upper: cd', 'c  d')).toBe(0);
    expect(exact.gold?.('copy: ab', 'ab')).toBeUndefined(); // no answer on that row
    expect(exact.origin?.('upper: ab')).toEqual({ file: TRAIN, line: 2 });
    const norm = await loadTask({
      kind: 'jsonl',
      train: TRAIN,
      heldout: HELD,
      gold: 'normalized',
      too_long: 'error',
    });
    expect(norm.gold?.('upper: cd', 'c  d ')).toBe(1);
    const none = await loadTask({
      kind: 'jsonl',
      train: TRAIN,
      heldout: HELD,
      gold: 'none',
      too_long: 'error',
    });
    expect(none.gold).toBeUndefined();
  });

  it('reports bad rows as file:line: reason', async () => {
    const bad = file('bad.jsonl', [
      '{"prompt": "ok"}',
      '{"answer": "x"}',
      '{"prompt": [{"role": "bot", "content": "x"}]}',
    ]);
    await expect(
      loadTask({ kind: 'jsonl', train: bad, heldout: HELD, gold: 'none', too_long: 'error' }),
    ).rejects.toThrow(new RegExp(`${bad}:2: .*prompt[\\s\\S]*${bad}:3: `));
    const dup = file('dup.jsonl', ['{"prompt": "a"}', '{"prompt": "a"}']);
    await expect(
      loadTask({ kind: 'jsonl', train: dup, heldout: HELD, gold: 'none', too_long: 'error' }),
    ).rejects.toThrow(`${dup}:2: prompt repeats line 1`);
    const noAnswer = file('no-answer.jsonl', ['{"prompt": "a", "answer": "a"}', '{"prompt": "b"}']);
    await expect(
      loadTask({ kind: 'jsonl', train: TRAIN, heldout: noAnswer, gold: 'exact', too_long: 'error' }),
    ).rejects.toThrow(`${noAnswer}:2: answer: required`);
  });

  it('renders conversational prompts with a configured Jinja chat template', async () => {
    const chat_template = '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}';
    const t = await loadTask({
      kind: 'jsonl',
      train: TRAIN,
      heldout: HELD,
      gold: 'none',
      chat_template,
      too_long: 'error',
    });
    expect((await t.train(0)).map((p) => p.prompt)).toEqual([
      'copy: ab',
      '<user>upper: ab',
      '<system>be brief<user>hi',
    ]);
    await expect(
      loadTask({
        kind: 'jsonl',
        train: TRAIN,
        heldout: HELD,
        gold: 'none',
        chat_template: '{% for %}',
        too_long: 'error',
      }),
    ).rejects.toThrow(/task\.chat_template: not a valid Jinja template/);
  });
});

describe('module task', () => {
  const mod = (name: string, body: string) => {
    const f = join(dir, name);
    writeFileSync(f, body);
    return f;
  };

  it('loads a verifier task and checks its gold range', async () => {
    const good = mod(
      'verifier.mjs',
      `export default { name: 'even', train: async () => [{ id: 'a', prompt: 'n: 4' }],
        heldout: async () => [{ prompt: 'n: 6' }],
        gold: (p, r) => (r.trim() === 'even' ? 1 : r === 'bad' ? 2 : 0), category: () => 'num' };`,
    );
    const t = await loadTask({ kind: 'module', path: good, too_long: 'error' });
    expect(t.name).toBe('even');
    expect(await t.train(0)).toEqual([{ id: 'a', prompt: 'n: 4' }]);
    expect(t.gold?.('n: 6', ' even')).toBe(1);
    expect(() => t.gold?.('n: 6', 'bad')).toThrow(/must be in \[0, 1\], got 2/);
    const broken = mod('broken.mjs', 'export const task = { train: 1, heldout: async () => [] };');
    await expect(loadTask({ kind: 'module', path: broken, too_long: 'error' })).rejects.toThrow(
      `${broken}: task.train must be a function`,
    );
  });
});

describe('run.task config', () => {
  it('is the demo without kind, and refuses the oracle on a task without gold, naming the key', () => {
    const demo = RunConfigSchema.parse({ task: { train_prompts: 10 } });
    expect(demo.task).toMatchObject({ kind: 'demo', train_prompts: 10, heldout_prompts: 200 });
    const task = { kind: 'jsonl', train: TRAIN, heldout: HELD };
    expect(() => parseConfig({ task }, RunConfigSchema, 'run.yaml')).toThrow(
      /run\.yaml: correction\.human\.source: "oracle" needs the task's gold scorer/,
    );
    const ok = { task, correction: { human: { source: 'queue' } } };
    expect(parseConfig(ok, RunConfigSchema, 'run.yaml').task).toMatchObject({ kind: 'jsonl', gold: 'none' });
    expect(() => parseConfig({ task: { ...task, gold: 'fuzzy' } }, RunConfigSchema, 'run.yaml')).toThrow(
      /task\.gold/,
    );
  });
});
