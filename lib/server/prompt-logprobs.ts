// One /v1/completions choice for scoring: the prompt's token log-probs (echo), the top-N alternatives
// at each position (logprobs = N), and with max_tokens 1 the greedy next token, in OpenAI's
// `logprobs` shape {tokens, token_logprobs, top_logprobs, text_offset}.
// Everything comes from ONE item of P (+1) tokens through the batcher's fused pass:
//  - echo: prompt = the first token, one candidate = the rest, so target t is log p(x_t | x_<t),
//    exactly what Policy.score gives for that split, and every position sits on a scored row;
//  - top_logprobs (N >= 1) and the next token: the pass's topN (native/model/prompt_logprobs.cpp)
//    gives each target's N best over the whole vocabulary; the next token's distribution is the row
//    of the last prompt token, reached by appending a placeholder target (its own log-prob unused).
//    Encoder-decoder (T5): the same item (prompt, one placeholder candidate) puts the placeholder on
//    the decoder's first step, [decoder_start] given the prompt: its row is the next token's.
// Cost: P rows x V for the alternatives, once (not one pass per prefix).
// Subtle: entry 0 has no context (null, as OpenAI/vLLM). Like vLLM, each top_logprobs map holds the
// top N plus the actual token (so it holds it whenever it is the argmax), with the actual token's
// value taken from token_logprobs so the two agree. Distinct ids may decode to the same text (byte
// pieces, U+FFFD): the map is keyed by text, so such an entry keeps the better alternative's value. text_offset indexes the decoded text (special
// tokens skipped) of prompt + completion (text-offsets.ts).
// Legend: P prompt tokens, N alternatives.
import type { TextTokenizer } from '../policy/tokenizer.js';
import type { Batcher, ItemResult, ScoreItem } from './batcher.js';
import { textOffsets } from './text-offsets.js';

export interface ChoiceRequest {
  ids: number[]; // (P)
  echo: boolean;
  logprobs: number | null; // N, or null: no logprobs object
  maxTokens: 0 | 1;
  /** The prompt is an encoder's input (T5; never with echo): the completion is the decoder's, its text stands alone. */
  encoderDecoder?: boolean;
}

export interface ChoiceLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

export interface Choice {
  text: string;
  logprobs: ChoiceLogprobs | null;
  completionIds: number[];
}

interface Plan {
  item: number; // this choice's item in the submit, or -1 (nothing to score)
  split: boolean; // the item is [x0] + [x1 .. x_{P-1} (, placeholder)]: target t predicts x_{t+1}
  next: number; // target whose row is the next-token distribution, or -1
}

/** Scores the choices of one request in one batcher submit (so the request counts once in the queue). */
export async function scoreChoices(reqs: ChoiceRequest[], texts: string[], batcher: Batcher, tok: TextTokenizer): Promise<Choice[]> {
  const items: ScoreItem[] = [];
  const plans: Plan[] = reqs.map(({ ids, echo, logprobs: N, maxTokens }) => {
    const P = ids.length;
    const split = echo && N !== null && P >= 2;
    const placeholder = maxTokens === 1 ? [ids[P - 1]!] : []; // any valid id: only its row is read
    if (split) items.push({ prompt: ids.slice(0, 1), candidates: [[...ids.slice(1), ...placeholder]] });
    else if (maxTokens === 1) items.push({ prompt: ids, candidates: [placeholder] });
    else return { item: -1, split, next: -1 };
    return { item: items.length - 1, split, next: maxTokens === 1 ? (split ? P - 1 : 0) : -1 };
  });
  // alternatives are needed for top_logprobs (N >= 1 with echo) and for the greedy next token
  const topN = reqs.reduce((n, r) => Math.max(n, r.maxTokens === 1 ? Math.max(1, r.logprobs ?? 0) : r.echo ? (r.logprobs ?? 0) : 0), 0);
  const res = items.length > 0 ? await batcher.submit(items, { topN }) : [];
  return reqs.map((req, c) => assemble(req, texts[c]!, plans[c]!, res, tok));
}

function assemble(req: ChoiceRequest, promptText: string, plan: Plan, res: ItemResult[], tok: TextTokenizer): Choice {
  const { ids, echo, logprobs: N, maxTokens } = req;
  const P = ids.length;
  const r = plan.item >= 0 ? res[plan.item]! : null;
  const top = r?.top;
  const best = (t: number, j: number) => ({ id: top!.ids[t * top!.n + j]!, lp: top!.logprobs[t * top!.n + j]! });
  const next = maxTokens === 1 ? best(plan.next, 0) : null;
  const completionIds = next ? [next.id] : [];
  const text = (echo ? promptText : '') + (next ? tok.decode(completionIds, true) : '');
  if (N === null) return { text, logprobs: null, completionIds };

  const pieces = new Map<number, string>(); // N alternatives x P positions repeat ids
  const piece = (id: number) => pieces.get(id) ?? pieces.set(id, tok.decode([id])).get(id)!;
  const lp: ChoiceLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  const shown = echo ? [...ids, ...completionIds] : completionIds;
  const offsets = req.encoderDecoder ? textOffsets(tok, completionIds) : textOffsets(tok, [...ids, ...completionIds]).slice(echo ? 0 : P);
  const echoLp = plan.split ? r!.tokenLogprobs[0]! : [];
  shown.forEach((id, i) => {
    lp.tokens.push(piece(id));
    lp.text_offset.push(offsets[i]!);
    const isPrompt = echo && i < P;
    if (isPrompt && i === 0) {
      lp.token_logprobs.push(null);
      lp.top_logprobs.push(null);
      return;
    }
    const target = isPrompt ? i - 1 : plan.next;
    const value = isPrompt ? echoLp[target]! : next!.lp;
    lp.token_logprobs.push(value);
    const map: Record<string, number> = {};
    if (top) {
      for (let j = 0; j < Math.min(N, top.n); ++j) { // best first: a later id with the same text keeps the better value
        const b = best(target, j);
        map[piece(b.id)] ??= b.lp;
      }
    }
    map[piece(id)] = value;
    lp.top_logprobs.push(map);
  });
  return { text, logprobs: lp, completionIds };
}
