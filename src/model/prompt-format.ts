// How a prompt and a response become one token sequence: BOS, prompt bytes, "\n", response bytes, EOS.
// Every part of tso (training, generation, nodes) uses this one layout.
import { BOS_ID, EOS_ID, PAD_ID, ByteTokenizer } from './tokenizer.js';

const tokenizer = new ByteTokenizer();
const NEWLINE = 10;

/** Tokens the model sees before it answers. */
export function promptIds(prompt: string): number[] {
  return [BOS_ID, ...tokenizer.encode(prompt), NEWLINE];
}

/** Decodes generated tokens to the response text (up to EOS). */
export function responseText(tokens: ArrayLike<number>): string {
  return tokenizer.decode(tokens);
}

export interface EncodedBatch {
  /** Right-padded token ids, rows × seqLen. */
  ids: Int32Array;
  /** 1 on response tokens (and the EOS that ends them), 0 on prompt and padding. */
  mask: Float32Array;
  rows: number;
  seqLen: number;
  /** Rows whose response was cut to fit the context. */
  truncated: number;
}

/**
 * Encodes (prompt, response) rows for log-prob scoring. A response that does not fit the context is cut
 * (its EOS dropped) and counted in `truncated`; a prompt that leaves no room for a response is an error.
 */
export function encodePairsForScoring(
  rows: { prompt: string; response: string }[],
  blockSize: number,
  padTo?: number,
): EncodedBatch {
  const seqs: { ids: number[]; start: number }[] = [];
  let truncated = 0;
  for (const r of rows) {
    const p = promptIds(r.prompt);
    if (p.length >= blockSize)
      throw new Error(
        `prompt of ${p.length} tokens leaves no room for a response in a context of ${blockSize}`,
      );
    let ids = [...p, ...tokenizer.encode(r.response), EOS_ID];
    if (ids.length > blockSize) {
      ids = ids.slice(0, blockSize);
      truncated++;
    }
    seqs.push({ ids, start: p.length });
  }
  const seqLen = Math.max(padTo ?? 0, ...seqs.map((s) => s.ids.length));
  const ids = new Int32Array(rows.length * seqLen).fill(PAD_ID);
  const mask = new Float32Array(rows.length * seqLen);
  seqs.forEach((s, i) => {
    ids.set(s.ids, i * seqLen);
    mask.fill(1, i * seqLen + s.start, i * seqLen + s.ids.length);
  });
  return { ids, mask, rows: rows.length, seqLen, truncated };
}
