// `tso export RUN_DIR --format trl | trl-conversational | jsonl [--out FILE] [--overwrite]`: the run's
// preference pairs for other trainers (src/export/preference-shapes.ts). Stdout without --out.
import { Command, Option } from 'commander';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { readPairs } from '../data/formats.js';
import { z } from 'zod';
import { formatJsonl, readJsonl, writeJsonl } from '../data/jsonl.js';
import {
  EXPORT_FORMATS,
  exportRow,
  type Conversations,
  type ExportFormat,
} from '../export/preference-shapes.js';
import { ChatMessageSchema } from '../tasks/chat-render.js';

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

const TrainRowSchema = z.looseObject({ prompt: z.string(), messages: z.array(ChatMessageSchema).optional() });

/** Prompt text → its conversation, from the run's data/train.jsonl (absent in older runs: none). */
async function runConversations(runDir: string): Promise<Conversations> {
  const file = join(runDir, 'data', 'train.jsonl');
  if (!(await exists(file))) return new Map();
  const rows = await readJsonl(file, TrainRowSchema);
  return new Map(rows.flatMap((r) => (r.messages ? [[r.prompt, r.messages] as const] : [])));
}

export function exportCommand(): Command {
  return new Command('export')
    .description("a run's pairs.jsonl as TRL preference rows (standard or conversational) or plain JSONL")
    .argument('<run-dir>', 'the run directory (holds pairs.jsonl)')
    .addOption(new Option('--format <f>', 'output shape').choices([...EXPORT_FORMATS]).default('trl'))
    .option('--out <file>', 'write here instead of stdout')
    .option('--overwrite', 'replace an existing --out file')
    .action(async (runDir: string, o: { format: ExportFormat; out?: string; overwrite?: boolean }) => {
      // Validated on the way in: a damaged pairs file is a file:line error, not a half-written export.
      const pairs = await readPairs(join(runDir, 'pairs.jsonl'));
      const conversations = await runConversations(runDir);
      const rows = pairs.map((p) => exportRow(p, o.format, conversations));
      if (!o.out) {
        process.stdout.write(formatJsonl(rows));
        return;
      }
      if (!o.overwrite && (await exists(o.out)))
        throw new Error(`${o.out} exists; pass --overwrite to replace it`);
      await writeJsonl(o.out, rows);
      process.stderr.write(`exported ${rows.length} pairs (${o.format}) to ${o.out}\n`);
    });
}
