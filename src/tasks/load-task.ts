// The task registry: a run config's `task:` to a Task.
import { demoTask } from './demo/demo-task.js';
import { jsonlTask } from './jsonl-task.js';
import { moduleTask } from './module-task.js';
import type { Task } from './task.js';
import type { TaskConfig } from './task-config.js';

export async function loadTask(cfg: TaskConfig): Promise<Task> {
  switch (cfg.kind) {
    case 'demo':
      return demoTask(cfg);
    case 'jsonl':
      return jsonlTask(cfg);
    case 'module':
      return moduleTask(cfg.path);
  }
}
