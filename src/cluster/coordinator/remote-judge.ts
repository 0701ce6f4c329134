// The AI-feedback judge as seen by the coordinator: Judge.Compare on a judge node, failing over to
// another live judge node when one is lost.
import type { Judge, Verdict } from '../../judges/types.js';
import { Role, Verdict as V } from '../../transport/index.js';
import type { NodeDirectory } from './node-directory.js';

export class RemoteJudge implements Judge {
  readonly name: string;

  constructor(
    private readonly dir: NodeDirectory,
    name = 'remote',
  ) {
    this.name = name;
  }

  async compare(prompt: string, a: string, b: string): Promise<Verdict> {
    for (;;) {
      const j = this.dir.byRole(Role.JUDGE)[0];
      if (!j) throw new Error('no live judge node');
      try {
        const r = await this.dir.judge(j).compare({ prompt, responseA: a, responseB: b });
        const winner = r.verdict === V.A ? 'a' : r.verdict === V.B ? 'b' : 'tie';
        return {
          winner,
          confidence: r.confidence,
          raw: r.raw || undefined,
          unparsable: r.unparsable || undefined,
        };
      } catch (e) {
        this.dir.markLost(j.nodeId, `Judge.Compare failed: ${(e as Error).message}`);
      }
    }
  }
}
