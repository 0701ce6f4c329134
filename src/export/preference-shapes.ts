// A run's pairs.jsonl in the shapes preference trainers read. TRL's standard preference rows are
// {prompt, chosen, rejected} strings; its conversational rows are message lists (the prompt as a user
// turn, each response as an assistant turn). Our lineage, id and weight ride along as side columns:
// TRL ignores columns it does not know, and the pairs stay traceable to the nodes that wrote them.
import type { PreferencePair } from '../data/formats.js';

export const EXPORT_FORMATS = ['trl', 'trl-conversational', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The conversation of a prompt when the task gave one (RUN_DIR/data/train.jsonl `messages`). */
export type Conversations = ReadonlyMap<string, readonly Message[]>;

export interface TrlRow {
  prompt: string;
  chosen: string;
  rejected: string;
  id?: string;
  weight?: number;
  lineage?: PreferencePair['lineage'];
}

export interface TrlConversationalRow {
  prompt: Message[];
  chosen: Message[];
  rejected: Message[];
  id?: string;
  weight?: number;
  lineage?: PreferencePair['lineage'];
}

/** The side columns kept next to the preference shape. */
function side(p: PreferencePair): Pick<TrlRow, 'id' | 'weight' | 'lineage'> {
  return {
    ...(p.id !== undefined ? { id: p.id } : {}),
    ...(p.weight !== undefined ? { weight: p.weight } : {}),
    ...(p.lineage !== undefined ? { lineage: p.lineage } : {}),
  };
}

export function toTrl(p: PreferencePair): TrlRow {
  return { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, ...side(p) };
}

/** The prompt as its original conversation when known, else as one user message. */
export function toTrlConversational(p: PreferencePair, conversations?: Conversations): TrlConversationalRow {
  const known = conversations?.get(p.prompt);
  return {
    prompt: known ? known.map((m) => ({ ...m })) : [{ role: 'user', content: p.prompt }],
    chosen: [{ role: 'assistant', content: p.chosen }],
    rejected: [{ role: 'assistant', content: p.rejected }],
    ...side(p),
  };
}

export function exportRow(p: PreferencePair, format: ExportFormat, conversations?: Conversations): object {
  if (format === 'trl') return toTrl(p);
  if (format === 'trl-conversational') return toTrlConversational(p, conversations);
  return p;
}
