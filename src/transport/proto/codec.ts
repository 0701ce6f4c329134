// encode/decode of contract messages with validation. Never lets a protobufjs exception escape:
// malformed bytes and invalid fields become ProtocolError with the type name and the reason.
import { ProtocolError } from '../errors.js';
import { lookupType } from './root.js';
import type { MessageInput, Messages, TypeName } from './types.js';

const TO_OBJECT = { longs: Number, enums: Number, defaults: true, arrays: true, objects: true } as const;

/** Encodes a message after validating it against its .proto type. */
export function encode<K extends TypeName>(typeName: K, obj: MessageInput<K>): Uint8Array {
  return encodeDynamic(typeName, obj);
}

/** Decodes and validates bytes as the given type. Throws ProtocolError on malformed input. */
export function decode<K extends TypeName>(typeName: K, bytes: Uint8Array): Messages[K] {
  return decodeDynamic(typeName, bytes) as Messages[K];
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/** Like decode, but returns the error instead of throwing. */
export function tryDecode<K extends TypeName>(typeName: K, bytes: Uint8Array): DecodeResult<Messages[K]> {
  try {
    return { ok: true, value: decode(typeName, bytes) };
  } catch (err) {
    return { ok: false, error: asProtocolError(err, typeName) };
  }
}

/** encode for a type name known only at runtime (e.g. from a service descriptor). */
export function encodeDynamic(typeName: string, obj: unknown): Uint8Array {
  const type = lookupType(typeName);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ProtocolError(`cannot encode ${typeName}: expected an object, got ${describe(obj)}`, typeName);
  }
  const problem = safeVerify(type, obj);
  if (problem) throw new ProtocolError(`invalid ${typeName}: ${problem}`, typeName);
  try {
    return type.encode(type.fromObject(obj as Record<string, unknown>)).finish();
  } catch (err) {
    throw new ProtocolError(`cannot encode ${typeName}: ${message(err)}`, typeName, { cause: err });
  }
}

/** decode for a type name known only at runtime. */
export function decodeDynamic(typeName: string, bytes: Uint8Array): unknown {
  const type = lookupType(typeName);
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError(`cannot decode ${typeName}: expected bytes, got ${describe(bytes)}`, typeName);
  }
  let msg: ReturnType<typeof type.decode>;
  try {
    // A plain Uint8Array view, never a Buffer: protobufjs' BufferReader silently truncates
    // over-long strings, its generic Reader rejects them.
    msg = type.decode(
      Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes,
    );
  } catch (err) {
    throw new ProtocolError(`malformed ${typeName} (${bytes.length} bytes): ${message(err)}`, typeName, {
      cause: err,
    });
  }
  const problem = safeVerify(type, msg);
  if (problem) throw new ProtocolError(`invalid ${typeName}: ${problem}`, typeName);
  return stripNulls(type.toObject(msg, TO_OBJECT));
}

function safeVerify(type: ReturnType<typeof lookupType>, obj: object): string | null {
  try {
    return type.verify(obj as Record<string, unknown>);
  } catch (err) {
    return message(err);
  }
}

/** protobufjs' toObject sets unset sub-messages to null; the TS types say "absent". */
function stripNulls(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = stripNulls(value[i]);
    return value;
  }
  const rec = value as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (rec[key] === null) delete rec[key];
    else rec[key] = stripNulls(rec[key]);
  }
  return rec;
}

function asProtocolError(err: unknown, typeName: string): ProtocolError {
  return err instanceof ProtocolError
    ? err
    : new ProtocolError(`cannot decode ${typeName}: ${message(err)}`, typeName, { cause: err });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
