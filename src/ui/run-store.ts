// The UI's copy of a run: fed by the coordinator while it runs (or once from a run dir by `tso ui`),
// read by the pages and the SSE stream. Listeners hear what changed, so a browser gets only deltas.
import type { IterationPoint, NodeView, RunView, StepPoint } from './views.js';

/** Steps kept in memory (the oldest are dropped first): bounds what a long run costs the UI. */
export const MAX_STEPS = 20_000;

export type StoreChange =
  | { kind: 'run' }
  | { kind: 'nodes' }
  | { kind: 'step'; point: StepPoint }
  | { kind: 'steps' }
  | { kind: 'iterations' }
  | { kind: 'human' };

export class RunStore {
  run: RunView;
  nodes: NodeView[] = [];
  steps: StepPoint[] = [];
  iterations: IterationPoint[] = [];
  private readonly listeners = new Set<(c: StoreChange) => void>();

  constructor(run: Pick<RunView, 'run_id' | 'of' | 'live' | 'human_source'> & Partial<RunView>) {
    const now = Date.now();
    this.run = {
      started_at_ms: now,
      minibatch: 0,
      phase: 'waiting',
      phase_started_ms: now,
      step: 0,
      state: 'waiting',
      message: '',
      ...run,
    };
  }

  subscribe(f: (c: StoreChange) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** Listeners must not throw into the loop that feeds the store. */
  emit(c: StoreChange): void {
    for (const f of this.listeners) {
      try {
        f(c);
      } catch {
        /* a broken listener (e.g. a closed socket) is dropped by its owner */
      }
    }
  }

  updateRun(patch: Partial<RunView>): void {
    if (patch.phase !== undefined && patch.phase !== this.run.phase) patch.phase_started_ms ??= Date.now();
    this.run = { ...this.run, ...patch };
    this.emit({ kind: 'run' });
  }

  setNodes(nodes: NodeView[]): void {
    this.nodes = nodes;
    this.emit({ kind: 'nodes' });
  }

  addStep(p: StepPoint): void {
    this.steps.push(p);
    if (this.steps.length > MAX_STEPS) this.steps.splice(0, this.steps.length - MAX_STEPS);
    this.emit({ kind: 'step', point: p });
  }

  setSteps(points: StepPoint[]): void {
    this.steps = points.slice(-MAX_STEPS);
    this.emit({ kind: 'steps' });
  }

  setIterations(points: IterationPoint[]): void {
    this.iterations = points;
    this.emit({ kind: 'iterations' });
  }
}
