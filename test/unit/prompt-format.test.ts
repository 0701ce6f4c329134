// The one sequence layout every part of tso shares: BOS, prompt bytes, "\n", response bytes, EOS, PAD.
import { describe, expect, it } from 'vitest';
import { encodePairsForScoring, promptIds, responseText } from '../../src/model/prompt-format.js';
import { BOS_ID, ByteTokenizer, EOS_ID, PAD_ID } from '../../src/model/tokenizer.js';

const NL = 10;
const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
const rowOf = (a: ArrayLike<number>, i: number, n: number) => Array.from(a).slice(i * n, (i + 1) * n);

describe('promptIds / responseText', () => {
  it('a prompt is BOS, its UTF-8 bytes and a newline', () => {
    expect(promptIds('ab')).toEqual([BOS_ID, 97, 98, NL]);
    expect(promptIds('')).toEqual([BOS_ID, NL]);
    expect(promptIds('é€')).toEqual([BOS_ID, 0xc3, 0xa9, 0xe2, 0x82, 0xac, NL]);
  });

  it.each(['', 'plain ascii 123', 'héllo wörld', '日本語 and 中文', 'emoji 😀 👩🏽‍💻', '\ufefftab\tnew\nline'])(
    'round-trips %j through the byte tokens',
    (text) => {
      const ids = new ByteTokenizer().encode(text);
      expect(ids).toEqual(bytes(text));
      expect(responseText(ids)).toBe(text);
      // Generated tokens end with EOS (and maybe padding after it): decoding stops there.
      expect(responseText([...ids, EOS_ID, 120, PAD_ID])).toBe(text);
    },
  );

  it('drops BOS and PAD inside the tokens and rejects ids outside the vocabulary', () => {
    expect(responseText([BOS_ID, 104, PAD_ID, 105])).toBe('hi');
    expect(responseText([EOS_ID, 104])).toBe('');
    expect(() => responseText([104, 259])).toThrow(RangeError);
  });
});

describe('encodePairsForScoring', () => {
  it('lays out BOS, prompt, newline, response, EOS, then PAD, with the mask on response + EOS', () => {
    const e = encodePairsForScoring(
      [
        { prompt: 'ab', response: 'xyz' },
        { prompt: 'q', response: '' },
        { prompt: 'é', response: 'ü' },
      ],
      32,
    );
    expect([e.rows, e.seqLen, e.truncated]).toEqual([3, 8, 0]);
    expect(e.ids).toBeInstanceOf(Int32Array);
    expect(e.mask).toBeInstanceOf(Float32Array);
    expect(rowOf(e.ids, 0, 8)).toEqual([BOS_ID, 97, 98, NL, 120, 121, 122, EOS_ID]);
    expect(rowOf(e.mask, 0, 8)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(rowOf(e.ids, 1, 8)).toEqual([BOS_ID, 113, NL, EOS_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID]);
    expect(rowOf(e.mask, 1, 8)).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
    expect(rowOf(e.ids, 2, 8)).toEqual([BOS_ID, 0xc3, 0xa9, NL, 0xc3, 0xbc, EOS_ID, PAD_ID]);
    expect(rowOf(e.mask, 2, 8)).toEqual([0, 0, 0, 0, 1, 1, 1, 0]);
  });

  it('the masked tokens decode back to the response; padTo widens every row', () => {
    const rows = [
      { prompt: 'sort 3 1 2', response: '1 2 3' },
      { prompt: 'translate', response: 'Grüße, 世界 🌍' },
    ];
    const e = encodePairsForScoring(rows, 64, 48);
    expect(e.seqLen).toBe(48);
    expect(e.ids.length).toBe(2 * 48);
    rows.forEach((r, i) => {
      const ids = rowOf(e.ids, i, 48);
      const mask = rowOf(e.mask, i, 48);
      const start = promptIds(r.prompt).length;
      expect(ids.slice(0, start)).toEqual(promptIds(r.prompt));
      expect(mask.indexOf(1)).toBe(start);
      const n = mask.reduce((a, b) => a + b, 0);
      expect(n).toBe(bytes(r.response).length + 1);
      expect(mask.slice(start, start + n).every((m) => m === 1)).toBe(true);
      expect(responseText(ids.slice(start, start + n))).toBe(r.response);
      expect(ids[start + n - 1]).toBe(EOS_ID);
      expect(ids.slice(start + n).every((t) => t === PAD_ID)).toBe(true);
    });
    // padTo never shortens a row.
    expect(encodePairsForScoring(rows, 64, 4).seqLen).toBe(
      promptIds('translate').length + bytes(rows[1].response).length + 1,
    );
  });

  it('cuts a response that does not fit the context (dropping its EOS) and counts it', () => {
    const e = encodePairsForScoring(
      [
        { prompt: 'ab', response: 'abcdefghij' }, // 4 + 10 + 1 = 15 > 8
        { prompt: 'ab', response: 'abc' }, // 4 + 3 + 1 = 8: fits exactly
        { prompt: 'abcde', response: 'xy' }, // 7 + 2 + 1 = 10 > 8: one response token left
      ],
      8,
    );
    expect([e.seqLen, e.truncated]).toEqual([8, 2]);
    expect(rowOf(e.ids, 0, 8)).toEqual([BOS_ID, 97, 98, NL, 97, 98, 99, 100]);
    expect(rowOf(e.mask, 0, 8)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(rowOf(e.ids, 1, 8)).toEqual([BOS_ID, 97, 98, NL, 97, 98, 99, EOS_ID]);
    expect(rowOf(e.ids, 2, 8)).toEqual([BOS_ID, 97, 98, 99, 100, 101, NL, 120]);
    expect(rowOf(e.mask, 2, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('a prompt that leaves no room for a response is an error', () => {
    // promptIds('abcdef') has 8 tokens: nothing is left in a context of 8.
    expect(() => encodePairsForScoring([{ prompt: 'abcdef', response: 'x' }], 8)).toThrow(
      'prompt of 8 tokens leaves no room for a response in a context of 8',
    );
    expect(() =>
      encodePairsForScoring(
        [
          { prompt: 'ok', response: 'x' },
          { prompt: 'ééééé', response: '' }, // 2 + 10 bytes
        ],
        12,
      ),
    ).toThrow(/prompt of 12 tokens/);
    expect(encodePairsForScoring([{ prompt: 'abcde', response: '' }], 8).truncated).toBe(0);
  });

  it('an empty batch is empty', () => {
    const e = encodePairsForScoring([], 8);
    expect([e.rows, e.seqLen, e.ids.length, e.mask.length, e.truncated]).toEqual([0, 0, 0, 0, 0]);
  });
});
