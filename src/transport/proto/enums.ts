// Numeric enums of the contract (values as in the .proto files; messages carry the numbers).

export const Role = { UNSPECIFIED: 0, POLICY: 1, GENERATOR: 2, JUDGE: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];

export const WeightTarget = { UNSPECIFIED: 0, POLICY: 1, REFERENCE: 2, BOTH: 3 } as const;
export type WeightTarget = (typeof WeightTarget)[keyof typeof WeightTarget];

export const ResponseSource = { UNSPECIFIED: 0, GENERATOR: 1, POLICY: 2, HUMAN: 3 } as const;
export type ResponseSource = (typeof ResponseSource)[keyof typeof ResponseSource];

export const LossKind = { UNSPECIFIED: 0, DUAL_CLIP: 1, DPO: 2, IPO: 3, SFT: 4 } as const;
export type LossKind = (typeof LossKind)[keyof typeof LossKind];

export const ClipUnits = { UNSPECIFIED: 0, PER_TOKEN: 1, SEQUENCE: 2 } as const;
export type ClipUnits = (typeof ClipUnits)[keyof typeof ClipUnits];

export const Verdict = { UNSPECIFIED: 0, A: 1, B: 2, TIE: 3 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export const Phase = {
  UNSPECIFIED: 0,
  WAITING_FOR_QUORUM: 1,
  GENERATING: 2,
  JUDGING: 3,
  CORRECTING: 4,
  TRAINING: 5,
  REFRESHING: 6,
  EVALUATING: 7,
  CHECKPOINTING: 8,
  DONE: 9,
  FAILED: 10,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** grpc.health.v1.HealthCheckResponse.ServingStatus */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

/** Name of an enum value, e.g. enumName(Role, 2) === "GENERATOR" (for logs and CLI output). */
export function enumName(e: Readonly<Record<string, number>>, value: number): string {
  for (const [k, v] of Object.entries(e)) if (v === value) return k;
  return String(value);
}
