/**
 * Byte-level tokenizer: ids 0-255 are the UTF-8 bytes of the text, followed by three specials.
 * No merges and no vocabulary file, so every node (in any language) tokenizes identically.
 */

export const BOS_ID = 256;
export const EOS_ID = 257;
export const PAD_ID = 258;
export const BYTE_VOCAB_SIZE = 259;

export interface EncodeOptions {
  bos?: boolean;
  eos?: boolean;
}

/** Self-description a node reports in Describe, so peers can check they share a tokenizer. */
export interface TokenizerDescriptor {
  type: 'byte';
  vocab_size: number;
  bos: number;
  eos: number;
  pad: number;
}

export interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>): string;
  describe(): TokenizerDescriptor;
}

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = BYTE_VOCAB_SIZE;
  private readonly encoder = new TextEncoder();
  // ignoreBOM: a leading U+FEFF is part of the text and must survive the round trip.
  // fatal: false: model output can be any byte sequence; bad runs become U+FFFD, never a throw.
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  /**
   * Lossless for well-formed strings. Lone surrogates have no UTF-8 form and are encoded as
   * U+FFFD (the WHATWG encoder's behaviour), so they do not round-trip.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const bytes = this.encoder.encode(text);
    const ids: number[] = [];
    if (options.bos) ids.push(BOS_ID);
    for (const b of bytes) ids.push(b);
    if (options.eos) ids.push(EOS_ID);
    return ids;
  }

  /** Drops BOS and PAD, stops at the first EOS. Ids outside the vocabulary are a caller bug. */
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= BYTE_VOCAB_SIZE) {
        throw new RangeError(
          `token id ${id} at position ${i} is outside the byte vocabulary [0, ${BYTE_VOCAB_SIZE})`,
        );
      }
      if (id === EOS_ID) break;
      if (id === BOS_ID || id === PAD_ID) continue;
      bytes[n++] = id;
    }
    return this.decoder.decode(bytes.subarray(0, n));
  }

  describe(): TokenizerDescriptor {
    return { type: 'byte', vocab_size: BYTE_VOCAB_SIZE, bos: BOS_ID, eos: EOS_ID, pad: PAD_ID };
  }
}
