// Coordinator.Status: the run's progress and the cluster's nodes, for `tso status` and dashboards.
import { defineService, type Phase, type ServiceRegistration } from '../../transport/index.js';
import type { NodeDirectory } from './node-directory.js';

export interface StatusState {
  runId: string;
  iteration: number;
  total: number;
  phase: Phase;
  step: number;
  startedAtMs: number;
  message: string;
  /** The dashboard's address (no token), '' when the UI is off. */
  uiUrl?: string;
}

export function statusService(state: StatusState, dir: NodeDirectory): ServiceRegistration {
  return defineService('tso.v1.Coordinator', {
    status: () => {
      const lost = dir.lostNodes();
      return {
        runId: state.runId,
        iteration: state.iteration,
        totalIterations: state.total,
        phase: state.phase,
        progress: state.total ? state.iteration / state.total : 0,
        startedAtMs: state.startedAtMs,
        step: state.step,
        message: state.message,
        uiUrl: state.uiUrl ?? '',
        nodes: dir.live().map((m) => ({
          info: {
            nodeId: m.nodeId,
            role: m.role,
            modelName: m.modelName,
            tier: m.tier,
            backend: m.backend,
            address: m.address,
            replica: m.replica,
            weightVersion: m.weightVersion,
          },
          alive: !lost.has(m.nodeId),
          lost: lost.has(m.nodeId),
          lastSeenMs: m.heartbeatAtMs,
          note: lost.get(m.nodeId) ?? '',
        })),
      };
    },
  });
}
