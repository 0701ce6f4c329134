// The coordinator's view of the cluster: live members from the membership KV, gRPC clients per
// address, and a record of nodes that were lost (their heartbeat lapsed or their calls failed).
import {
  createClient,
  isNodeFailure,
  Membership,
  Role,
  type ClientTlsOptions,
  type MemberRecord,
  type TypedClient,
} from '../../transport/index.js';
import type { NodeEvent } from '../../tso/loop/port.js';
import type { Logger } from '../../util/log.js';

export class NodeDirectory {
  private members: MemberRecord[] = [];
  private readonly lost = new Map<string, string>();
  /** startedAtMs of each lost node's registration: only a restarted process (a new one) comes back. */
  private readonly lostStartedAt = new Map<string, number>();
  /** Heartbeat time of each lost node's record when first seen after the loss (see maybeBack). */
  private readonly lostHeartbeat = new Map<string, number>();
  private readonly clients = new Map<string, TypedClient<'tso.v1.ModelNode'>>();
  private readonly judgeClients = new Map<string, TypedClient<'tso.v1.Judge'>>();
  readonly events: NodeEvent[] = [];

  constructor(
    readonly membership: Membership,
    private readonly log: Logger,
    readonly deadlineMs: number,
    /** Certificates for the nodes' gRPC servers (mTLS); plaintext when absent. */
    private readonly tls?: ClientTlsOptions,
  ) {}

  async refresh(): Promise<MemberRecord[]> {
    const now = await this.membership.list();
    const ids = new Set(now.map((m) => m.nodeId));
    for (const m of this.members) {
      if (!ids.has(m.nodeId) && !this.lost.has(m.nodeId))
        this.markLost(m.nodeId, 'heartbeat lapsed (left the membership)');
    }
    for (const m of now) {
      const known = this.members.some((x) => x.nodeId === m.nodeId) || this.lost.has(m.nodeId);
      if (!known && this.members.length > 0) {
        this.event(
          m.nodeId,
          'joined',
          `${Role.POLICY === m.role ? 'policy replica' : 'node'} ${m.nodeId} joined at ${m.address}`,
        );
      }
    }
    for (const id of this.lost.keys()) if (!ids.has(id)) this.lostHeartbeat.set(id, -Infinity);
    for (const m of now) if (this.lost.has(m.nodeId)) this.maybeBack(m);
    this.members = now;
    return this.live();
  }

  /**
   * A lost node comes back when a new process registers under its id (another startedAtMs) or when
   * its own record heartbeats again: its heartbeat time moves past the first one seen after the loss.
   * A dead process's record stays listed, unchanged, until its TTL lapses: that one stays lost.
   * (The first sighting, not the cached record at loss time, is the mark: the cache may predate the
   * process's last heartbeat before it died.)
   */
  private maybeBack(m: MemberRecord): void {
    const restarted = m.startedAtMs > 0 && m.startedAtMs !== this.lostStartedAt.get(m.nodeId);
    const seen = this.lostHeartbeat.get(m.nodeId);
    if (!restarted && (seen === undefined || m.heartbeatAtMs <= seen)) {
      if (seen === undefined) this.lostHeartbeat.set(m.nodeId, m.heartbeatAtMs);
      return;
    }
    this.lost.delete(m.nodeId);
    this.lostStartedAt.delete(m.nodeId);
    this.lostHeartbeat.delete(m.nodeId);
    this.event(
      m.nodeId,
      'joined',
      `${m.nodeId} is back (${restarted ? 'restarted' : 'heartbeating again'}) at ${m.address}`,
    );
  }

  live(): MemberRecord[] {
    return this.members.filter((m) => !this.lost.has(m.nodeId));
  }

  byRole(role: number): MemberRecord[] {
    return this.live()
      .filter((m) => m.role === role)
      .sort((a, b) => a.replica - b.replica || a.tier - b.tier || a.nodeId.localeCompare(b.nodeId));
  }

  isLost(nodeId: string): boolean {
    return this.lost.has(nodeId);
  }

  /**
   * A call to a node failed. Only a node that cannot be reached (UNAVAILABLE) or does not answer in
   * time (DEADLINE_EXCEEDED) is lost: its work fails over. Any other status is an answer about the
   * request (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, …): it goes to the run's
   * events and the node keeps serving. Returns what the failure was taken for.
   */
  callFailed(nodeId: string, what: string, e: unknown): 'lost' | 'error' {
    const why = `${what} failed: ${e instanceof Error ? e.message : String(e)}`;
    if (isNodeFailure(e)) {
      this.markLost(nodeId, why);
      return 'lost';
    }
    this.event(nodeId, 'error', why);
    return 'error';
  }

  markLost(nodeId: string, reason: string): void {
    if (this.lost.has(nodeId)) return;
    this.lost.set(nodeId, reason);
    this.lostStartedAt.set(nodeId, this.members.find((m) => m.nodeId === nodeId)?.startedAtMs ?? 0);
    this.lostHeartbeat.delete(nodeId);
    this.clients.get(nodeId)?.close();
    this.clients.delete(nodeId);
    this.event(nodeId, 'lost', reason);
  }

  lostNodes(): Map<string, string> {
    return new Map(this.lost);
  }

  event(node: string, kind: NodeEvent['kind'], detail: string): void {
    const e: NodeEvent = { at: new Date().toISOString(), node, kind, detail };
    this.events.push(e);
    if (kind === 'lost' || kind === 'refused' || kind === 'retry') this.log.warn(e, detail);
    else this.log.info(e, detail);
  }

  drainEvents(): NodeEvent[] {
    return this.events.splice(0);
  }

  modelNode(m: MemberRecord): TypedClient<'tso.v1.ModelNode'> {
    let c = this.clients.get(m.nodeId);
    if (!c) {
      c = createClient('tso.v1.ModelNode', m.address, { defaultDeadlineMs: this.deadlineMs, tls: this.tls });
      this.clients.set(m.nodeId, c);
    }
    return c;
  }

  judge(m: MemberRecord): TypedClient<'tso.v1.Judge'> {
    let c = this.judgeClients.get(m.nodeId);
    if (!c) {
      c = createClient('tso.v1.Judge', m.address, { defaultDeadlineMs: this.deadlineMs, tls: this.tls });
      this.judgeClients.set(m.nodeId, c);
    }
    return c;
  }

  close(): void {
    for (const c of [...this.clients.values(), ...this.judgeClients.values()]) c.close();
    this.clients.clear();
    this.judgeClients.clear();
  }
}
