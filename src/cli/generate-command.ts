import { Command } from 'commander';
import { initBackend } from '../backend/select-backend.js';
import { readPrompts } from '../data/formats.js';
import { loadModel } from '../model/checkpoint.js';
import { answerOptions, generate } from '../model/generate.js';
import { promptIds, responseText } from '../model/prompt-format.js';
import { backendOption, floatArg, intArg, nonNegIntArg } from './options.js';

export function generateCommand(): Command {
  return new Command('generate')
    .description('generate responses for a JSONL file of prompts; writes JSONL {prompt, response} to stdout')
    .requiredOption('--model <dir>', 'model directory (manifest.json + weights.bin)')
    .requiredOption('--input <file>', 'JSONL prompts: {"id"?, "prompt"}')
    .option('--max-tokens <n>', 'maximum new tokens per response', nonNegIntArg, 32)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', floatArg, 0)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', nonNegIntArg, 0)
    .option('--top-p <p>', 'nucleus sampling mass (1 = off)', floatArg, 1)
    .option('--seed <s>', 'sampling seed', intArg, 0)
    .option('--batch-size <n>', 'prompts per forward batch', intArg, 32)
    .addOption(backendOption())
    .action(async (o) => {
      await initBackend(o.backend);
      const prompts = await readPrompts(o.input);
      const { model } = await loadModel(o.model, false);
      for (let i = 0; i < prompts.length; i += o.batchSize) {
        const chunk = prompts.slice(i, i + o.batchSize);
        const gens = generate(
          model,
          chunk.map((p) => promptIds(p.prompt)),
          // rowOffset keeps each prompt's seed stream independent of how the input is batched.
          answerOptions(
            { temperature: o.temperature, topK: o.topK, topP: o.topP, maxNewTokens: o.maxTokens },
            o.seed,
            i,
          ),
        );
        const lines = chunk.map((p, j) =>
          JSON.stringify({
            ...(p.id !== undefined ? { id: p.id } : {}),
            prompt: p.prompt,
            response: responseText(gens[j].tokens),
          }),
        );
        process.stdout.write(lines.join('\n') + '\n');
      }
      model.dispose();
    });
}
