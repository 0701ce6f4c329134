import { describe, expect, it } from 'vitest';
import { BOS_ID, BYTE_VOCAB_SIZE, ByteTokenizer, EOS_ID, PAD_ID } from '../../src/model/tokenizer.js';

const tok = new ByteTokenizer();

describe('ByteTokenizer', () => {
  it('has the fixed special ids and vocabulary size', () => {
    expect([BOS_ID, EOS_ID, PAD_ID, BYTE_VOCAB_SIZE]).toEqual([256, 257, 258, 259]);
    expect(tok.vocabSize).toBe(259);
    expect(tok.describe()).toEqual({ type: 'byte', vocab_size: 259, bos: 256, eos: 257, pad: 258 });
  });

  it('encodes ASCII as its bytes, with optional BOS/EOS', () => {
    expect(tok.encode('ab')).toEqual([97, 98]);
    expect(tok.encode('ab', { bos: true })).toEqual([256, 97, 98]);
    expect(tok.encode('ab', { eos: true })).toEqual([97, 98, 257]);
    expect(tok.encode('', { bos: true, eos: true })).toEqual([256, 257]);
  });

  it('encodes non-ASCII as UTF-8 bytes', () => {
    expect(tok.encode('é')).toEqual([0xc3, 0xa9]);
    expect(tok.encode('€')).toEqual([0xe2, 0x82, 0xac]);
    expect(tok.encode('😀')).toEqual([0xf0, 0x9f, 0x98, 0x80]);
  });

  it.each([
    ['empty', ''],
    ['ascii', 'sort: 4 1 3 → 1 3 4'],
    ['emoji with ZWJ and skin tone', '👩🏽‍💻 👨‍👩‍👧‍👦 🇳🇴'],
    ['CJK', '日本語のテキスト，中文，한국어'],
    ['combining marks', 'e\u0301 a\u0308 n\u0303\u0323'],
    ['leading BOM', '\uFEFFstarts with a BOM'],
    ['control chars and NUL', 'a\u0000b\tc\r\nd\u007f'],
    ['astral plane', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{10FFFF}'],
  ])('round-trips %s losslessly', (_name, text) => {
    expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode(tok.encode(text, { bos: true, eos: true }))).toBe(text);
  });

  it('decode drops BOS and PAD and stops at the first EOS', () => {
    const ids = [
      BOS_ID,
      ...tok.encode('hi'),
      PAD_ID,
      ...tok.encode('!'),
      EOS_ID,
      ...tok.encode('junk'),
      EOS_ID,
    ];
    expect(tok.decode(ids)).toBe('hi!');
    expect(tok.decode([EOS_ID, 97])).toBe('');
    expect(tok.decode([PAD_ID, PAD_ID])).toBe('');
  });

  it('accepts typed arrays (tensor data)', () => {
    expect(tok.decode(Int32Array.from([BOS_ID, 0xe2, 0x82, 0xac, EOS_ID, PAD_ID]))).toBe('€');
  });

  it('turns invalid byte runs into U+FFFD instead of throwing', () => {
    expect(tok.decode([0x61, 0xff, 0x62])).toBe('a\uFFFDb');
    // A multi-byte sequence cut by EOS (a model stopping mid-character).
    expect(tok.decode([0x61, 0xe2, 0x82, EOS_ID, 0xac])).toBe('a\uFFFD');
    expect(tok.decode([0xc0, 0x80])).toBe('\uFFFD\uFFFD');
  });

  it('encodes a lone surrogate as U+FFFD (it has no UTF-8 form)', () => {
    expect(tok.encode('a\uD800b')).toEqual([0x61, 0xef, 0xbf, 0xbd, 0x62]);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.decode([97, 259])).toThrow(
      'token id 259 at position 1 is outside the byte vocabulary [0, 259)',
    );
    expect(() => tok.decode([-1])).toThrow(RangeError);
    expect(() => tok.decode([1.5])).toThrow(RangeError);
  });
});
