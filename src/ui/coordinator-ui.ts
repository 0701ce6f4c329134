// The coordinator's side of the UI: starts the server (unless `--ui off`), prints the link once, and
// feeds the store from the loop's progress events, the run dir's files and the membership bucket.
// Everything here is best effort: a failure is logged and the run goes on.
import type { MemberRecord } from '../transport/index.js';
import type { ProgressEvent } from '../tso/loop/run-loop.js';
import type { WebFeedback } from '../tso/web-feedback.js';
import type { Logger } from '../util/log.js';
import { RunMetrics } from '../metrics/run-metrics.js';
import { parseHostPort } from './http-io.js';
import { readIterations, readSteps } from './run-files.js';
import { RunStore } from './run-store.js';
import { startUiServer, type UiServer } from './ui-server.js';
import { stepPoint, type NodeView, type RunView } from './views.js';

/** `tso coordinator --ui` / `tso cluster --ui` (passed to the coordinator in its environment). */
export const UI_ENV = 'TSO_UI';
export const DEFAULT_UI = '127.0.0.1:0';
const NODE_POLL_MS = 2000;

export interface CoordinatorUiOptions {
  /** HOST:PORT, or "off". */
  setting: string | undefined;
  runId: string;
  minibatches: number;
  runDir: string;
  /** Read-only membership listing (heartbeats, weight versions). */
  listMembers: () => Promise<MemberRecord[]>;
  /** Nodes the run has given up on, and why. */
  lostNodes: () => Map<string, string>;
  roleName: (m: MemberRecord) => string;
  log: Logger;
  print: (line: string) => void;
}

export class CoordinatorUi {
  private readonly seen = new Map<string, MemberRecord>();
  private loaded = false;
  private polling = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly store: RunStore,
    readonly metrics: RunMetrics,
    readonly server: UiServer,
    private readonly o: CoordinatorUiOptions,
  ) {
    this.timer = setInterval(() => void this.pollNodes(), NODE_POLL_MS);
    this.timer.unref();
    void this.pollNodes();
  }

  static async start(o: CoordinatorUiOptions): Promise<CoordinatorUi | undefined> {
    const setting = o.setting ?? DEFAULT_UI;
    if (setting === 'off') return undefined;
    const { host, port } = parseHostPort(setting);
    const store = new RunStore({ run_id: o.runId, of: o.minibatches, live: true, human_source: '' });
    const metrics = new RunMetrics(store);
    const server = await startUiServer({ host, port, store, runDir: o.runDir, metrics, log: o.log });
    o.print(`dashboard: ${server.link}  (labelling page: ${server.url}label; metrics: ${server.url}metrics)`);
    return new CoordinatorUi(store, metrics, server, o);
  }

  attachHuman(label: string, web: WebFeedback | undefined): void {
    this.store.updateRun({ human_source: label });
    if (web) this.server.attachWeb(web);
  }

  onProgress(e: ProgressEvent): void {
    try {
      if (!this.loaded) {
        // The first event comes after a resume truncated the logs to the checkpoint.
        this.loaded = true;
        void this.reloadFiles();
      }
      const patch: Partial<RunView> = {
        minibatch: e.minibatch,
        phase: e.phase,
        state: 'running',
        message: e.phase,
      };
      if (e.phase === 'train') {
        patch.step = e.step.step;
        this.store.addStep(stepPoint(e.step));
      }
      this.store.updateRun(patch);
      // metrics.jsonl has the finished mini-batch's row by the time its checkpoint starts.
      if (e.phase === 'checkpoint') void this.reloadFiles();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'UI progress update failed');
    }
  }

  finish(state: 'done' | 'failed', message: string): void {
    const done = state === 'done' ? { minibatch: this.store.run.of } : {};
    this.store.updateRun({ state, phase: state, message, ...done });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.metrics.close();
    await this.server.close().catch(() => {});
  }

  private async reloadFiles(): Promise<void> {
    try {
      this.store.setIterations(await readIterations(this.o.runDir));
      const steps = await readSteps(this.o.runDir);
      // Keep the live steps of the mini-batch in progress (steps.jsonl has them only after it).
      const lastFiled = steps.at(-1)?.step ?? -1;
      this.store.setSteps([...steps, ...this.store.steps.filter((s) => s.step > lastFiled)]);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'UI could not read the run files');
    }
  }

  private async pollNodes(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const live = await this.o.listMembers();
      for (const m of live) this.seen.set(m.nodeId, m);
      const lost = this.o.lostNodes();
      const liveIds = new Set(live.map((m) => m.nodeId));
      const now = Date.now();
      const nodes: NodeView[] = [...this.seen.values()]
        .sort((a, b) => a.nodeId.localeCompare(b.nodeId))
        .map((m) => {
          const reason = lost.get(m.nodeId) ?? (liveIds.has(m.nodeId) ? undefined : 'not in the membership');
          return {
            id: m.nodeId,
            role: this.o.roleName(m),
            model: m.modelName,
            tier: m.tier,
            backend: m.backend,
            address: m.address,
            weight_version: m.weightVersion,
            heartbeat_age_s: m.heartbeatAtMs > 0 ? Math.max(0, (now - m.heartbeatAtMs) / 1000) : null,
            lost: reason !== undefined,
            ...(reason !== undefined ? { lost_reason: reason } : {}),
          };
        });
      this.store.setNodes(nodes);
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message }, 'UI node poll failed');
    } finally {
      this.polling = false;
    }
  }
}
