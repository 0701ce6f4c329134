// Loads the .proto contract at runtime with protobufjs (no code generation).
// Field names are converted to lowerCamelCase (keepCase: false), matching ./types.ts.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ProtocolError } from '../errors.js';

export type PbRoot = protobuf.Root;
export type PbType = protobuf.Type;
export type PbService = protobuf.Service;
export type PbMethod = protobuf.Method;

const MARKER = join('tso', 'v1', 'common.proto');

/**
 * The directory holding the contract (`proto/`): $TSO_PROTO_DIR, else the first `proto/` found
 * walking up from this module (works from src/ under tsx and from dist/ after a build).
 */
export function protoDir(): string {
  const fromEnv = process.env.TSO_PROTO_DIR;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, MARKER))) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`cannot find proto/${MARKER} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Every .proto file of the contract, as paths relative to protoDir(). */
export function protoFiles(dir: string = protoDir()): string[] {
  const list = (rel: string): string[] =>
    readdirSync(join(dir, rel))
      .filter((f) => f.endsWith('.proto'))
      .sort()
      .map((f) => join(rel, f));
  return [...list(join('tso', 'v1')), ...list(join('grpc', 'health', 'v1'))];
}

let cached: PbRoot | undefined;

/** The loaded and resolved protobufjs Root (loaded once per process). */
export function getRoot(): PbRoot {
  if (cached) return cached;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string =>
    isAbsolute(target) ? target : join(dir, target);
  root.loadSync(protoFiles(dir), { keepCase: false });
  root.resolveAll();
  cached = root;
  return root;
}

const typeCache = new Map<string, PbType>();

/** Looks up a message type by its full name (e.g. "tso.v1.NodeInfo"); ProtocolError if unknown. */
export function lookupType(typeName: string): PbType {
  const hit = typeCache.get(typeName);
  if (hit) return hit;
  let type: PbType;
  try {
    type = getRoot().lookupType(typeName);
  } catch (err) {
    throw new ProtocolError(`unknown message type "${typeName}"`, typeName, { cause: err });
  }
  typeCache.set(typeName, type);
  return type;
}

/** Looks up a service by its full name (e.g. "tso.v1.ModelNode"). */
export function lookupService(serviceName: string): PbService {
  try {
    return getRoot().lookupService(serviceName);
  } catch (err) {
    throw new ProtocolError(`unknown service "${serviceName}"`, serviceName, { cause: err });
  }
}

/** Full name of a protobufjs reflection object, without the leading dot. */
export function fullName(obj: protobuf.ReflectionObject): string {
  return obj.fullName.replace(/^\./, '');
}
