// Reading an LLM judge's free-text answer: the verdict (`parseJudgeAnswer`) and, when the endpoint
// returned token logprobs, its confidence (`confidenceFromLogprobs`). Pure functions, no I/O; the
// accepted forms are listed in openai-judge.ts's header.
import type { Winner } from './types.js';

const TIE_WORDS = /^(?:tie|tied|draw|equal|equally|same|neither|both)$/i;

function labelOf(word: string, allowLowercaseLetter: boolean): Winner | undefined {
  const w = word.trim();
  if (w === 'A' || (allowLowercaseLetter && w === 'a')) return 'a';
  if (w === 'B' || (allowLowercaseLetter && w === 'b')) return 'b';
  if (TIE_WORDS.test(w)) return 'tie';
  return undefined;
}

/** Markdown emphasis, code fences, quotes and brackets removed; whitespace collapsed. */
function clean(text: string): string {
  return text
    .replace(/```[a-z]*\n?/gi, ' ')
    .replace(/[*_`#>"“”‘’]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const JSON_KEYS = ['winner', 'answer', 'verdict', 'choice', 'preferred', 'better', 'result', 'decision'];

function fromJson(text: string): Winner | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!JSON_KEYS.includes(k.toLowerCase()) || typeof v !== 'string') continue;
    const w = wholeAnswer(clean(v));
    if (w) return w;
  }
  return undefined;
}

const PREFIX =
  '(?:(?:my\\s+|the\\s+|final\\s+)*(?:answer|verdict|winner|choice|decision|output|judgement|judgment|preference)\\s*(?:is|would\\s+be)?\\s*[:=-]?\\s*)?';
const NOUN = '(?:(?:response|answer|option|assistant|output|candidate)\\s*)?';
const WHOLE = new RegExp(`^${PREFIX}${NOUN}[([]*\\s*([a-z]+)\\s*[)\\]]*\\s*[.!]?$`, 'i');
const LEADING = new RegExp(`^${PREFIX}${NOUN}[([]?(A|B|TIE|Tie|tie)[)\\]]?(?:[.,:;!]|\\s+[-–—]|\\s*$)`);

/** The whole (cleaned) answer is one verdict, optionally prefixed ("Answer: B", "Response A", "tie."). */
function wholeAnswer(c: string): Winner | undefined {
  const m = WHOLE.exec(c);
  if (!m) return undefined;
  const w = m[1];
  // a lone letter may be lowercase; "equal"/"same"/... must be the whole answer to mean tie
  return labelOf(w, true);
}

// Statements inside free text. Letters must be capital here ("a" is an English word).
const STATEMENTS: { re: RegExp; group: number }[] = [
  {
    re: /\b(?:response|answer|option|assistant|output|candidate)\s*\(?(A|B)\)?\s+(?:is|was|seems|appears)\s+(?:clearly\s+|much\s+|slightly\s+|definitely\s+|the\s+)?(?:better|best|preferred|superior|stronger|correct|more\s+\w+|winner)/gi,
    group: 1,
  },
  {
    re: /\b(?:answer|verdict|winner|choice|decision|prefer|preferred|pick|choose|select|better\s+response|best\s+response)\s*(?:is|would\s+be)?\s*[:=-]?\s*(?:response\s+|option\s+|answer\s+)?\(?\b(A|B|TIE)\b/gi,
    group: 1,
  },
  {
    re: /(?:^|[\s,;])(A|B)\s+(?:is|was|seems)\s+(?:clearly\s+|much\s+|slightly\s+|definitely\s+)?(?:better|best|preferred|superior|stronger|correct|the\s+winner)/g,
    group: 1,
  },
  { re: /\b(tie|tied)\b/gi, group: 1 },
  { re: /\b(?:both\s+(?:are\s+)?)?(equally)\s+(?:good|bad|correct|incorrect|wrong|valid)\b/gi, group: 1 },
];

/**
 * Reads a judge's answer; undefined when it cannot be read unambiguously. See the file header for
 * the accepted forms.
 */
export function parseJudgeAnswer(text: string): Winner | undefined {
  if (typeof text !== 'string') return undefined;
  const json = fromJson(text);
  if (json) return json;
  const c = clean(text);
  if (c === '') return undefined;
  const whole = wholeAnswer(c);
  if (whole) return whole;
  // "B\n\nExplanation: ..." / "**Answer: A**\nBecause ...": the first line alone is the verdict
  const firstLine = text.split('\n').find((l) => clean(l) !== '');
  const head = firstLine === undefined ? undefined : wholeAnswer(clean(firstLine));
  if (head) return head;
  const lead = LEADING.exec(c);
  if (lead) return labelOf(lead[1], false);
  const found = new Set<Winner>();
  for (const { re, group } of STATEMENTS) {
    for (const m of c.matchAll(re)) {
      const word = m[group];
      // the letter must be a capital in free text
      const w = /^[ab]$/.test(word) ? undefined : labelOf(word, false);
      if (w) found.add(w);
    }
  }
  return found.size === 1 ? [...found][0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Confidence from logprobs

interface TokenLogprob {
  token?: unknown;
  logprob?: unknown;
  top_logprobs?: unknown;
}

function tokenLabel(token: unknown): Winner | undefined {
  if (typeof token !== 'string') return undefined;
  const t = token.replace(/[*_`"'“”‘’(){}[\]:.\s]/g, '');
  if (t === 'A' || t === 'a') return 'a';
  if (t === 'B' || t === 'b') return 'b';
  if (/^(?:tie|TIE|Tie|T|TI)$/.test(t)) return 'tie';
  return undefined;
}

/**
 * p(winner) / (p(A) + p(B) + p(TIE)) at the first answer token that spells `winner`, from an OpenAI
 * `choices[0].logprobs` object; undefined when there is nothing usable.
 */
export function confidenceFromLogprobs(logprobs: unknown, winner: Winner): number | undefined {
  if (logprobs === null || typeof logprobs !== 'object') return undefined;
  const content = (logprobs as { content?: unknown }).content;
  if (!Array.isArray(content)) return undefined;
  for (const entry of content as TokenLogprob[]) {
    if (entry === null || typeof entry !== 'object' || tokenLabel(entry.token) !== winner) continue;
    const mass: Record<Winner, number> = { a: 0, b: 0, tie: 0 };
    const top = Array.isArray(entry.top_logprobs) ? (entry.top_logprobs as TokenLogprob[]) : [];
    for (const alt of top) {
      const l = alt && typeof alt === 'object' ? tokenLabel(alt.token) : undefined;
      if (l && typeof alt.logprob === 'number' && Number.isFinite(alt.logprob))
        mass[l] += Math.exp(alt.logprob);
    }
    const total = mass.a + mass.b + mass.tie;
    if (total > 0 && mass[winner] > 0) return Math.min(1, Math.max(0, mass[winner] / total));
    if (typeof entry.logprob === 'number' && Number.isFinite(entry.logprob))
      return Math.min(1, Math.max(0, Math.exp(entry.logprob)));
    return undefined;
  }
  return undefined;
}
