// The TSO run config (config/<run>.yaml), validated strictly: an unknown or mistyped key is an error
// that names the key. Defaults are the demo's; every field is documented in the README.
import { z } from 'zod';
import { DEFAULT_GRAD_SHARDS } from '../grad-shards.js';
import { mayHaveGold, TaskConfigSchema } from '../../tasks/task-config.js';
import { CLIP_UNITS, LOSS_NAMES } from '../losses.js';

/**
 * Default dual-clip bounds in per-token nats (see the loss keys). Measured on config/cluster.yaml's
 * run (LocalPort, 6 mini-batches): at lr 3e-4 and 4 epochs, where rejected log-probs fall by ~0.6–1
 * nat/token against the reference, they clip 17% of pairs (chosen 4%, rejected 15%); at the shipped
 * lr 1e-4 and 2 epochs, 0.6%. The old bound, c = 1 on the summed reward at β = 0.1, clipped 0.09%.
 */
const CLIP_DEFAULTS = { chosen: 1, rejected: 1.5 };

const Sampling = z.strictObject({
  temperature: z.number().min(0).default(1),
  top_k: z.number().int().min(0).default(0),
  top_p: z.number().gt(0).max(1).default(1),
  max_new_tokens: z.number().int().min(1).max(4096).default(16),
});

const Human = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.literal('oracle'),
    /** Simulated human labels from the gold scorer, at most this many per iteration. */
    budget_per_iteration: z.number().int().min(0).default(16),
  }),
  z.strictObject({
    source: z.literal('queue'),
    /** Seconds to wait for labels before the fallback applies. */
    wait_s: z.number().min(0).default(30),
  }),
  z.strictObject({
    source: z.literal('web'),
    /** Seconds an offered dispute waits for an answer on the labelling page before the fallback. */
    wait_s: z.number().min(0).default(60),
    /** Disputes offered to people per iteration (the most informative first). */
    budget_per_iteration: z.number().int().min(0).default(16),
  }),
  z.strictObject({ source: z.literal('none') }),
]);

export const RunConfigSchema = z
  .strictObject({
    run_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
      .default('demo'),
    seed: z.number().int().min(0).default(0),
    task: TaskConfigSchema,
    minibatches: z.number().int().min(1).default(8),
    minibatch_prompts: z.number().int().min(1).default(64),
    epochs: z.number().int().min(1).default(2),
    /** Pairs per optimizer step, split into `grad_shards` shards. */
    train_batch_pairs: z.number().int().min(1).default(32),
    /**
     * Gradient shards per optimizer step, fixed for the run: the live policy replicas share them out
     * (a replica computes several when others are dead or not yet joined), so the final weights do not
     * depend on how many replicas are alive. Run as many replicas as shards for full parallelism.
     */
    grad_shards: z.number().int().min(1).max(256).default(DEFAULT_GRAD_SHARDS),
    /**
     * When set: exactly this many optimizer steps per mini-batch (batches drawn by cycling seeded
     * reshuffles of the pairs; `epochs` is then ignored), so every variant takes the same number of steps.
     */
    steps_per_minibatch: z.number().int().min(1).optional(),
    /** Samples each generator node draws per prompt. */
    samples_per_node: z.number().int().min(0).default(1),
    /** Samples the current policy draws per prompt. */
    policy_samples: z.number().int().min(0).default(2),
    sampling: Sampling.default({ temperature: 1, top_k: 0, top_p: 1, max_new_tokens: 16 }),
    judge_required: z.boolean().default(true),
    correction: z
      .strictObject({
        mode: z.enum(['none', 'ai', 'ai+human']).default('ai+human'),
        /** Combined (prior + judge) confidence at or above which a pair is decided without a human. */
        threshold: z.number().gt(0.5).lt(1).default(0.7),
        /** What an unresolved dispute becomes (src/tso/correction.ts). */
        fallback: z.enum(['posterior', 'drop', 'trust-ai', 'trust-prior']).default('posterior'),
        /** κ: weight of the judge's log-odds against the prior's. */
        judge_weight: z.number().min(0).default(1),
        human: Human.default({ source: 'oracle', budget_per_iteration: 16 }),
      })
      .default({
        mode: 'ai+human',
        threshold: 0.7,
        fallback: 'posterior',
        judge_weight: 1,
        human: { source: 'oracle', budget_per_iteration: 16 },
      }),
    /** The calibrated prior (src/tso/calibrated-prior.ts): Bradley–Terry over sources, per category. */
    prior: z
      .strictObject({
        /** Pseudo-comparisons per pair of configured tiers. */
        strength: z.number().min(0).default(4),
        /** Share of them the better-tiered source wins. */
        belief: z.number().min(0.5).lt(1).default(0.75),
        /** Multiplier of observed evidence at each new mini-batch. */
        decay: z.number().min(0).max(1).default(0.5),
        /** Comparisons one human label counts for. */
        human_weight: z.number().min(0).default(3),
        /** Comparisons one AI verdict of confidence 1 counts for. */
        ai_weight: z.number().min(0).default(1),
        /** Log-strength bonus per e-fold of sources that wrote the same answer. */
        agreement: z.number().min(0).default(0.5),
      })
      .default({ strength: 4, belief: 0.75, decay: 0.5, human_weight: 3, ai_weight: 1, agreement: 0.5 }),
    pairs: z
      .strictObject({
        max_per_prompt: z.number().int().min(1).default(4),
        /** Upper bound of a pair's weight (a human-decided pair gets it). */
        max_weight: z.number().min(1).default(2),
        /** Final confidence at or above which a judge-backed chosen response counts as verified (NLL anchor). */
        anchor_confidence: z.number().min(0).max(1).default(0.9),
        /** Include human responses in the pool (ablation switch). */
        use_human: z.boolean().default(true),
        /**
         * 'tso': calibrated-prior pair selection with correction (the method). 'best-matrix': one pair per
         * prompt whose chosen side is the best matrix answer by configured tier (the sft-distill baseline).
         */
        strategy: z.enum(['tso', 'best-matrix']).default('tso'),
        /** Scale pair weights by the final confidence (false: every weight is 1; ablation). */
        scale: z.boolean().default(true),
        /**
         * Earlier mini-batches whose pairs join this mini-batch's training pool (0: only its own pairs,
         * the paper's loop). Their reference log-probs are recomputed under the current reference.
         */
        replay: z.number().int().min(0).max(64).default(0),
      })
      .default({
        max_per_prompt: 4,
        max_weight: 2,
        anchor_confidence: 0.9,
        use_human: true,
        strategy: 'tso',
        scale: true,
        replay: 0,
      }),
    loss: z
      .strictObject({
        name: z.enum(LOSS_NAMES as unknown as [string, ...string[]]).default('dual-clip'),
        beta: z.number().gt(0).default(0.1),
        /**
         * Dual-clip bounds c_w, c_l in `clip_units`. per-token (default): nats of mean per-token
         * log-ratio log(πθ/π_ref)/|y|; the chosen side stops being pushed up above +c_w, the rejected
         * side stops being pushed down below −c_l. sequence: bounds on the reward β·Σ log(πθ/π_ref).
         */
        clip_chosen: z.number().gt(0).default(CLIP_DEFAULTS.chosen),
        clip_rejected: z.number().gt(0).default(CLIP_DEFAULTS.rejected),
        clip_units: z.enum(CLIP_UNITS as unknown as [string, ...string[]]).default('per-token'),
        /** Weight of an NLL anchor on the verified (anchor) chosen responses (0 = the pure loss). */
        sft_weight: z.number().min(0).default(0),
      })
      .default({
        name: 'dual-clip',
        beta: 0.1,
        clip_chosen: CLIP_DEFAULTS.chosen,
        clip_rejected: CLIP_DEFAULTS.rejected,
        clip_units: 'per-token',
        sft_weight: 0,
      }),
    optimizer: z
      .strictObject({
        lr: z.number().gt(0).default(3e-4),
        weight_decay: z.number().min(0).default(0),
        clip_norm: z.number().min(0).default(1),
        /** Linear lr warm-up over the first N optimizer steps of the run (0 = none). */
        warmup_steps: z.number().int().min(0).default(0),
        /**
         * After the warm-up: 'constant', or 'cosine' decay to lr·min_lr_fraction at the run's last
         * optimizer step (minibatches × steps_per_minibatch, so it needs steps_per_minibatch).
         */
        schedule: z.enum(['constant', 'cosine']).default('constant'),
        min_lr_fraction: z.number().min(0).max(1).default(0.1),
      })
      .default({
        lr: 3e-4,
        weight_decay: 0,
        clip_norm: 1,
        warmup_steps: 0,
        schedule: 'constant',
        min_lr_fraction: 0.1,
      }),
    /** 'iterative': reference ← policy after every mini-batch (TSO). 'fixed': the reference never moves. */
    reference: z.enum(['iterative', 'fixed']).default('iterative'),
    /** 'online': pairs are rebuilt every mini-batch. 'offline': built once from the initial policy. */
    pairs_mode: z.enum(['online', 'offline']).default('online'),
    eval: z
      .strictObject({
        max_new_tokens: z.number().int().min(1).default(16),
        every: z.number().int().min(1).default(1),
      })
      .default({ max_new_tokens: 16, every: 1 }),
  })
  // Every shard needs a pair; the simulated human answers from the gold scorer.
  .superRefine((c, ctx) => {
    // Every shard needs a pair: with more shards than pairs per step some would stay empty.
    if (c.grad_shards > c.train_batch_pairs)
      ctx.addIssue({
        code: 'custom',
        path: ['grad_shards'],
        message: `grad_shards (${c.grad_shards}) is more than train_batch_pairs (${c.train_batch_pairs}): each shard needs at least one pair of the step's batch`,
      });
    if (c.optimizer.schedule === 'cosine' && c.steps_per_minibatch === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['optimizer', 'schedule'],
        message:
          'schedule "cosine" decays over the run\'s optimizer steps, which are known only with steps_per_minibatch (set it, or use schedule: constant)',
      });
    const h = c.correction;
    if (h.mode === 'ai+human' && h.human.source === 'oracle' && !mayHaveGold(c.task))
      ctx.addIssue({
        code: 'custom',
        path: ['correction', 'human', 'source'],
        message: `"oracle" needs the task's gold scorer, and task.gold is "none" (use queue or none)`,
      });
  });

export type RunConfig = z.infer<typeof RunConfigSchema>;
