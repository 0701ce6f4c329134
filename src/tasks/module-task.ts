// A task written as code (`kind: module`): a JS/TS module whose default export (or `task` export) is a
// Task, e.g. with a verifier as its gold scorer. The module is user code, so its shape is checked when
// it is loaded and its gold scores every time they are used.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkGold, type Task } from './task.js';

const FUNCTIONS = ['train', 'heldout'] as const;
const OPTIONAL = ['gold', 'category', 'plausibility', 'origin'] as const;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/** The Task a module exports; throws naming the module and the missing or mistyped member. */
export async function moduleTask(file: string): Promise<Task> {
  const where = path.resolve(file);
  const mod: unknown = await import(pathToFileURL(where).href);
  const t = isRecord(mod) ? (mod.default ?? mod.task) : undefined;
  if (!isRecord(t)) throw new Error(`${file}: a task module must export a Task as default or as \`task\``);
  for (const k of FUNCTIONS)
    if (typeof t[k] !== 'function') throw new Error(`${file}: task.${k} must be a function`);
  for (const k of OPTIONAL)
    if (t[k] !== undefined && typeof t[k] !== 'function')
      throw new Error(`${file}: task.${k} must be a function when given`);
  const task = t as unknown as Task;
  const name = typeof t.name === 'string' ? t.name : path.basename(file).replace(/\.[^.]*$/, '');
  const gold = task.gold;
  return {
    name,
    train: (seed) => task.train(seed),
    heldout: () => task.heldout(),
    ...(gold ? { gold: (p: string, r: string) => checkGold(name, p, gold(p, r)) } : {}),
    ...(task.category ? { category: task.category } : {}),
    ...(task.plausibility ? { plausibility: task.plausibility } : {}),
    ...(task.origin ? { origin: task.origin } : {}),
  };
}
