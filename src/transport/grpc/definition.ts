// grpc-js ServiceDefinitions built from the protobufjs reflection of the .proto services
// (no @grpc/proto-loader). Serializers pass pre-encoded bytes through; deserializers never throw:
// they return a DecodeResult, so malformed bytes reach our handler wrapper (→ INVALID_ARGUMENT)
// instead of failing inside grpc-js (which would answer INTERNAL).
import type { ServiceDefinition } from '@grpc/grpc-js';
import { ProtocolError } from '../errors.js';
import { decodeDynamic, type DecodeResult } from '../proto/codec.js';
import { fullName, lookupService } from '../proto/root.js';
import type { MethodKind, ServiceName } from './services.js';

export interface MethodInfo {
  /** Proto method name, e.g. "LoadWeights". */
  name: string;
  /** Handler / client method name, e.g. "loadWeights". */
  implName: string;
  /** "/tso.v1.ModelNode/LoadWeights" */
  path: string;
  kind: MethodKind;
  requestType: string;
  responseType: string;
}

export interface BuiltService {
  serviceName: ServiceName;
  methods: MethodInfo[];
  definition: ServiceDefinition;
  wire: Record<string, WireMethodDefinition>;
}

/** Both directions send pre-encoded bytes and receive a DecodeResult. */
export interface WireMethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: Uint8Array) => Buffer;
  responseSerialize: (value: Uint8Array) => Buffer;
  requestDeserialize: (bytes: Buffer) => DecodeResult<unknown>;
  responseDeserialize: (bytes: Buffer) => DecodeResult<unknown>;
  originalName: string;
}

function kindOf(requestStream: boolean, responseStream: boolean, path: string): MethodKind {
  if (!requestStream && !responseStream) return 'unary';
  if (!requestStream && responseStream) return 'serverStream';
  if (requestStream && !responseStream) return 'clientStream';
  throw new ProtocolError(`${path}: bidirectional streaming is not supported by tso transport`);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A deserializer that never throws. */
export function safeDeserializer(typeName: string): (bytes: Buffer) => DecodeResult<unknown> {
  return (bytes) => {
    try {
      return { ok: true, value: decodeDynamic(typeName, bytes) };
    } catch (err) {
      const error =
        err instanceof ProtocolError
          ? err
          : new ProtocolError(`cannot decode ${typeName}: ${String(err)}`, typeName, { cause: err });
      return { ok: false, error };
    }
  };
}

const cache = new Map<string, BuiltService>();

export function buildService(serviceName: ServiceName): BuiltService {
  const hit = cache.get(serviceName);
  if (hit) return hit;
  const svc = lookupService(serviceName);
  const methods: MethodInfo[] = [];
  const definition: Record<string, WireMethodDefinition> = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const path = `/${serviceName}/${m.name}`;
    const requestType = m.resolvedRequestType ? fullName(m.resolvedRequestType) : m.requestType;
    const responseType = m.resolvedResponseType ? fullName(m.resolvedResponseType) : m.responseType;
    const info: MethodInfo = {
      name: m.name,
      implName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
      path,
      kind: kindOf(Boolean(m.requestStream), Boolean(m.responseStream), path),
      requestType,
      responseType,
    };
    methods.push(info);
    definition[m.name] = {
      path,
      requestStream: Boolean(m.requestStream),
      responseStream: Boolean(m.responseStream),
      requestSerialize: toBuffer,
      responseSerialize: toBuffer,
      requestDeserialize: safeDeserializer(requestType),
      responseDeserialize: safeDeserializer(responseType),
      originalName: info.implName,
    };
  }
  const built: BuiltService = {
    serviceName,
    methods,
    definition: definition as unknown as ServiceDefinition,
    wire: definition,
  };
  cache.set(serviceName, built);
  return built;
}
