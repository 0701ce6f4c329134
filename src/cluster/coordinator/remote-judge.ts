// The AI-feedback judge as seen by the coordinator: Judge.Compare on a judge node, failing over to
// another live judge node when one is lost. With `judge_nodes` in the cluster config only those
// nodes judge, in that order of preference: which node's verdicts count is the config's choice, not
// whichever judge id sorts first among the registered ones.
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

  async compare(prompt: string, a: string, b: string): Promise<Verdict> {
    for (;;) {
      const j = this.pick();
      if (!j)
        throw new Error(
          this.allowed
            ? `no live judge node among judge_nodes [${this.allowed.join(', ')}]`
            : 'no live judge node',
        );
      try {
        const r = await this.dir.judge(j).compare({ prompt, responseA: a, responseB: b });
        const winner = r.verdict === V.A ? 'a' : r.verdict === V.B ? 'b' : 'tie';
        return {
          winner,
          confidence: r.confidence,
          // Stored with the pair: a node's answer text is bounded here too, whatever the node sends.
          raw: r.raw ? r.raw.slice(0, MAX_RAW_ANSWER_CHARS) : undefined,
          unparsable: r.unparsable || undefined,
        };
      } catch (e) {
        this.dir.markLost(j.nodeId, `Judge.Compare failed: ${(e as Error).message}`);
      }
    }
  }
}
