// The embedded demo task: grammar, gold scorer, seeded splits.
export * from './grammar.js';
export * from './gold.js';
export * from './splits.js';
export * from './plausibility.js';
export * from './demo-task.js';
