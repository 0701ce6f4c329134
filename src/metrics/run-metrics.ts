// Prometheus metrics of a run (served at /metrics by the UI server), fed by the same RunStore the pages
// read, so the dashboard and the scrape never disagree. One Registry per run (not prom-client's global
// one): tests and `tso ui` may hold several.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunStore, StoreChange } from '../ui/run-store.js';

export class RunMetrics {
  readonly registry = new Registry();
  private readonly steps: Counter;
  private readonly loss: Gauge;
  private readonly rewardAccuracy: Gauge;
  private readonly stepSeconds: Histogram;
  private readonly phaseSeconds: Histogram;
  private readonly minibatch: Gauge;
  private readonly nodes: Gauge;
  private readonly lost: Gauge;
  private readonly waiting: Gauge;
  private readonly humanLabels: Counter;
  private readonly disputes: Counter;
  private readonly heldout: Gauge;
  private lastStepAt: number | undefined;
  private phase: { name: string; since: number } | undefined;
  private countedIteration = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: RunStore) {
    const r = [this.registry];
    this.registry.setDefaultLabels({ run: store.run.run_id });
    collectDefaultMetrics({ register: this.registry, prefix: 'tso_process_' });
    this.steps = new Counter({ name: 'tso_steps_total', help: 'Optimizer steps applied', registers: r });
    this.loss = new Gauge({ name: 'tso_loss', help: 'Loss of the last optimizer step', registers: r });
    this.rewardAccuracy = new Gauge({
      name: 'tso_reward_accuracy',
      help: 'Reward accuracy of the last optimizer step',
      registers: r,
    });
    this.stepSeconds = new Histogram({
      name: 'tso_step_duration_seconds',
      help: 'Wall time between consecutive optimizer steps of a mini-batch',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: r,
    });
    this.phaseSeconds = new Histogram({
      name: 'tso_phase_duration_seconds',
      help: 'Wall time of each loop phase (generate, pairs, reference, train, refresh, evaluate, checkpoint)',
      labelNames: ['phase'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
      registers: r,
    });
    this.minibatch = new Gauge({ name: 'tso_minibatch', help: 'Mini-batches done', registers: r });
    this.nodes = new Gauge({
      name: 'tso_nodes',
      help: 'Live nodes by role',
      labelNames: ['role'],
      registers: r,
    });
    this.lost = new Gauge({ name: 'tso_nodes_lost', help: 'Nodes lost during the run', registers: r });
    this.waiting = new Gauge({
      name: 'tso_disputes_waiting',
      help: 'Disputes open on the labelling page',
      registers: r,
    });
    this.humanLabels = new Counter({
      name: 'tso_human_labels_total',
      help: 'Disputes decided by a human label',
      registers: r,
    });
    this.disputes = new Counter({
      name: 'tso_disputes_total',
      help: 'Disputes raised by the correction',
      registers: r,
    });
    this.heldout = new Gauge({
      name: 'tso_heldout',
      help: 'Held-out evaluation of the latest evaluated policy (gold_reward, exact_match, kl_to_initial)',
      labelNames: ['metric'],
      registers: r,
    });
    this.unsubscribe = store.subscribe((c) => this.observe(c));
    this.observe({ kind: 'run' });
    this.observe({ kind: 'nodes' });
    this.observe({ kind: 'iterations' });
  }

  setDisputesWaiting(n: number): void {
    this.waiting.set(n);
  }

  close(): void {
    this.unsubscribe();
  }

  private observe(c: StoreChange): void {
    const now = performance.now() / 1000;
    const run = this.store.run;
    if (c.kind === 'step') {
      this.steps.inc();
      this.loss.set(c.point.loss);
      this.rewardAccuracy.set(c.point.reward_accuracy);
      if (this.lastStepAt !== undefined && this.phase?.name === 'train')
        this.stepSeconds.observe(now - this.lastStepAt);
      this.lastStepAt = now;
    } else if (c.kind === 'run') {
      this.minibatch.set(run.state === 'done' ? run.of : run.minibatch);
      if (this.phase?.name !== run.phase) {
        if (this.phase) this.phaseSeconds.observe({ phase: this.phase.name }, now - this.phase.since);
        this.phase = { name: run.phase, since: now };
        this.lastStepAt = undefined;
      }
    } else if (c.kind === 'nodes') {
      this.nodes.reset();
      for (const n of this.store.nodes) if (!n.lost) this.nodes.inc({ role: n.role });
      this.lost.set(this.store.nodes.filter((n) => n.lost).length);
    } else if (c.kind === 'iterations') {
      for (const it of this.store.iterations) {
        if (it.iteration <= this.countedIteration || it.iteration === 0) continue;
        this.disputes.inc(it.disputes ?? 0);
        this.humanLabels.inc(it.human_labels ?? 0);
        this.countedIteration = it.iteration;
      }
      const last = [...this.store.iterations].reverse().find((i) => i.gold_reward !== null);
      if (last) {
        this.heldout.set({ metric: 'gold_reward' }, last.gold_reward ?? 0);
        this.heldout.set({ metric: 'exact_match' }, last.exact_match ?? 0);
        if (last.kl !== null) this.heldout.set({ metric: 'kl_to_initial' }, last.kl);
      }
    }
  }
}
