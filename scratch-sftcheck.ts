import { initBackend } from './src/backend/select-backend.js';
import { loadModel } from './src/model/checkpoint.js';
import { AdamW, DEFAULT_ADAMW } from './src/model/adamw.js';
import { computeFlatGradient } from './src/model/gradients.js';
import { encodePairsForScoring } from './src/model/prompt-format.js';
import { sftLoss } from './src/tso/sft.js';
import { evaluatePolicy } from './src/tso/evaluate.js';
import { heldoutPrompts, makeDataset } from './src/tso/task/index.js';
await initBackend('wasm');
const lr = Number(process.argv[2]); const steps = Number(process.argv[3]); const uniq = Number(process.argv[4]);
const { model } = await loadModel(process.argv[5] ?? '/tmp/models-backup/policy-init', true);
const held = heldoutPrompts(300).map((e) => ({ prompt: e.prompt, answer: e.answer }));
const ev = () => evaluatePolicy(model, held, { maxNewTokens: 20 }).exact_match;
console.log('init', ev());
const data = makeDataset({ seed: 5, n: uniq, split: 'tso' }).map((d) => d);
const { solve } = await import('./src/tso/task/index.js');
const opt = new AdamW(model.vars, model.specs, { ...DEFAULT_ADAMW, lr, weightDecay: 0, clipNorm: 1 });
for (let s = 0; s < steps; s++) {
  const rows = Array.from({ length: 32 }, (_, i) => data[(s * 32 + i) % data.length]).map((d) => ({ prompt: d.prompt, response: solve(d.prompt) }));
  const enc = encodePairsForScoring(rows, model.config.blockSize);
  const g = computeFlatGradient(model, () => sftLoss(model, enc));
  opt.apply(g.grad);
  if ((s + 1) % 32 === 0) console.log('step', s + 1, 'loss', g.loss.toFixed(3), 'exact', ev());
}
