// The GPT shape as flat data (nanoGPT style). Defaults match the PyTorch yardstick, scripts/torch_reference.py.
import { z } from 'zod';

export const GPTConfigSchema = z
  .object({
    vocabSize: z.number().int().min(2),
    blockSize: z.number().int().min(2).max(4096),
    nLayer: z.number().int().min(1).max(64),
    nHead: z.number().int().min(1).max(64),
    dModel: z.number().int().min(2).max(8192),
  })
  .strict()
  .refine((c) => c.dModel % c.nHead === 0, { message: 'dModel must be divisible by nHead', path: ['nHead'] });

export type GPTConfig = z.infer<typeof GPTConfigSchema>;

export const DEFAULT_GPT_CONFIG: GPTConfig = {
  vocabSize: 259,
  blockSize: 64,
  nLayer: 4,
  nHead: 4,
  dModel: 128,
};

export interface ParamSpec {
  name: string;
  shape: number[];
  /** How the parameter is initialised. */
  init: 'normal' | 'normal-residual' | 'zeros' | 'ones';
  /** AdamW decays 2-D weight matrices only, not biases, norms or embeddings of positions. */
  decay: boolean;
}

/** Every parameter in a fixed order: checksums, flat gradients and saved files all use this order. */
export function paramSpecs(c: GPTConfig): ParamSpec[] {
  const D = c.dModel;
  const specs: ParamSpec[] = [
    { name: 'wte', shape: [c.vocabSize, D], init: 'normal', decay: true },
    { name: 'wpe', shape: [c.blockSize, D], init: 'normal', decay: false },
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `h.${i}.`;
    specs.push(
      { name: `${p}ln_1.g`, shape: [D], init: 'ones', decay: false },
      { name: `${p}ln_1.b`, shape: [D], init: 'zeros', decay: false },
      { name: `${p}attn.c_attn.w`, shape: [D, 3 * D], init: 'normal', decay: true },
      { name: `${p}attn.c_attn.b`, shape: [3 * D], init: 'zeros', decay: false },
      { name: `${p}attn.c_proj.w`, shape: [D, D], init: 'normal-residual', decay: true },
      { name: `${p}attn.c_proj.b`, shape: [D], init: 'zeros', decay: false },
      { name: `${p}ln_2.g`, shape: [D], init: 'ones', decay: false },
      { name: `${p}ln_2.b`, shape: [D], init: 'zeros', decay: false },
      { name: `${p}mlp.c_fc.w`, shape: [D, 4 * D], init: 'normal', decay: true },
      { name: `${p}mlp.c_fc.b`, shape: [4 * D], init: 'zeros', decay: false },
      { name: `${p}mlp.c_proj.w`, shape: [4 * D, D], init: 'normal-residual', decay: true },
      { name: `${p}mlp.c_proj.b`, shape: [D], init: 'zeros', decay: false },
    );
  }
  specs.push(
    { name: 'ln_f.g', shape: [D], init: 'ones', decay: false },
    { name: 'ln_f.b', shape: [D], init: 'zeros', decay: false },
    { name: 'lm_head.w', shape: [D, c.vocabSize], init: 'normal', decay: true },
  );
  return specs;
}

export function paramCount(c: GPTConfig): number {
  return paramSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
