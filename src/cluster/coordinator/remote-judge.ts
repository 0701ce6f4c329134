// The AI-feedback judge as seen by the coordinator: Judge.Compare on a judge node, failing over to
// another live judge node when one is lost, and to no verdict (the calibrated prior decides) when none
// is left; both are run events. With `judge_nodes` in the cluster config only those nodes judge, in
// that order of preference: which node's verdicts count is the config's choice, not whichever judge id
// sorts first among the registered ones.
import { MAX_RAW_ANSWER_CHARS } from '../../judges/openai-judge.js';
import type { Judge, Verdict } from '../../judges/types.js';
import { Role, Verdict as V } from '../../transport/index.js';
import type { NodeDirectory } from './node-directory.js';

export class RemoteJudge implements Judge {
  readonly name: string;

  constructor(
    private readonly dir: NodeDirectory,
    name = 'remote',
    private readonly allowed?: readonly string[],
  ) {
    this.name = name;
  }

  private pick() {
    const live = this.dir.byRole(Role.JUDGE);
    if (!this.allowed) return live[0];
    for (const id of this.allowed) {
      const j = live.find((m) => m.nodeId === id);
      if (j) return j;
    }
    return undefined;
  }

  /** Who judged last: a judge node id, or '' for the prior (no judge); a change is a run event. */
  private current: string | undefined;

  private judgedBy(who: string, why: string): void {
    if (this.current === who) return;
    if (this.current !== undefined || who === '')
      this.dir.event(who || this.current || 'judge', 'fallback', why);
    this.current = who;
  }

  /**
   * Without a judge the comparison carries no information: a tie of confidence 0 adds nothing to
   * the prior's log-odds, so the calibrated prior (and, for a dispute, the human source and the
   * correction's fallback) decides the pair. `raw` says why in the pair's record.
   */
  private noJudge(why: string): Verdict {
    return { winner: 'tie', confidence: 0, raw: `no judge verdict: ${why}` };
  }

  async compare(prompt: string, a: string, b: string): Promise<Verdict> {
    for (;;) {
      const j = this.pick();
      if (!j) {
        const why = this.allowed
          ? `no live judge node among judge_nodes [${this.allowed.join(', ')}]`
          : 'no live judge node';
        this.judgedBy('', `${why}: pairs are decided by the calibrated prior (disputes as configured)`);
        return this.noJudge(why);
      }
      try {
        const r = await this.dir.judge(j).compare({ prompt, responseA: a, responseB: b });
        this.judgedBy(j.nodeId, `judging goes to ${j.nodeId}`);
        const winner = r.verdict === V.A ? 'a' : r.verdict === V.B ? 'b' : 'tie';
        return {
          winner,
          confidence: r.confidence,
          // Stored with the pair: a node's answer text is bounded here too, whatever the node sends.
          raw: r.raw ? r.raw.slice(0, MAX_RAW_ANSWER_CHARS) : undefined,
          unparsable: r.unparsable || undefined,
        };
      } catch (e) {
        // A lost judge fails over to the next one; a refusal concerns this comparison only.
        if (this.dir.callFailed(j.nodeId, 'Judge.Compare', e) === 'error')
          return this.noJudge(`${j.nodeId} refused the comparison: ${(e as Error).message}`);
      }
    }
  }
}
