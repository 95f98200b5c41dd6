// One /v1/completions choice for scoring: the prompt's token log-probs (echo), the top-N alternatives
// at each position (logprobs = N), and with max_tokens 1 the greedy next token, in OpenAI's
// `logprobs` shape {tokens, token_logprobs, top_logprobs, text_offset}.
// How each number is computed, all through the batcher's fused passes:
//  - token_logprobs: one item, prompt = the first token, one candidate = the rest (so entry t is
//    log p(x_t | x_<t), exactly what Policy.score gives for that split);
//  - top_logprobs (N >= 1): one item per prefix x_<t with hidden = true; the vocabulary row comes from
//    that hidden state (vocab-logprobs.ts). Cost: about P^2/2 tokens for a P-token prompt;
//  - the next token (max_tokens 1): the whole prompt with hidden, its argmax.
// Subtle: entry 0 has no context (null, as OpenAI/vLLM). Like vLLM, each top_logprobs map holds the
// top N plus the actual token (so it holds it whenever it is the argmax), with the actual token's
// value taken from token_logprobs so the two agree. text_offset indexes the decoded text (special
// tokens skipped) of prompt + completion.
// Legend: P prompt tokens, N alternatives.
import type { TextTokenizer } from '../policy/tokenizer.js';
import type { Batcher, ItemResult, ScoreItem } from './batcher.js';
import type { RowTop, VocabLogprobs } from './vocab-logprobs.js';

export interface ChoiceRequest {
  ids: number[]; // (P)
  echo: boolean;
  logprobs: number | null; // N, or null: no logprobs object
  maxTokens: 0 | 1;
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
  at: number; // first item of this choice in the shared submit
  wantEcho: boolean;
  wantTop: boolean;
  topAt: number; // first item with a hidden row (the prefixes, then the next-token item)
  rows: number; // hidden rows of this choice
  rowAt: number; // first of them among all choices' rows
}

/** Scores the choices of one request in one batcher submit (so the request counts once in the queue). */
export async function scoreChoices(reqs: ChoiceRequest[], texts: string[], batcher: Batcher, vocab: VocabLogprobs, tok: TextTokenizer): Promise<Choice[]> {
  const items: ScoreItem[] = [];
  const plans: Plan[] = [];
  const alsoIds: number[] = [];
  let rowAt = 0;
  for (const { ids, echo, logprobs: N, maxTokens } of reqs) {
    const P = ids.length;
    const at = items.length;
    const wantEcho = echo && N !== null && P >= 2;
    const wantTop = wantEcho && N! >= 1;
    if (wantEcho) items.push({ prompt: ids.slice(0, 1), candidates: [ids.slice(1)] });
    const topAt = items.length;
    if (wantTop) for (let t = 1; t < P; ++t) items.push({ prompt: ids.slice(0, t), candidates: [[ids[t]!]], hidden: true });
    if (maxTokens === 1) items.push({ prompt: ids, candidates: [[ids[P - 1]!]], hidden: true }); // a placeholder candidate: only hidden is read
    const rows = items.length - topAt;
    plans.push({ at, wantEcho, wantTop, topAt, rows, rowAt });
    rowAt += rows;
    if (wantTop) alsoIds.push(...ids.slice(1));
    if (maxTokens === 1) alsoIds.push(-1);
  }
  const res = await batcher.submit(items);
  const hidden = plans.flatMap((p) => res.slice(p.topAt, p.topAt + p.rows).map((r) => r.hidden!));
  const nTop = Math.max(1, ...reqs.map((r) => r.logprobs ?? 0));
  const tops = hidden.length > 0 ? await vocab.top(hidden, nTop, alsoIds) : [];
  return reqs.map((req, c) => assemble(req, texts[c]!, plans[c]!, res, tops, tok));
}

function assemble(req: ChoiceRequest, promptText: string, plan: Plan, res: ItemResult[], tops: RowTop[], tok: TextTokenizer): Choice {
  const { ids, echo, logprobs: N, maxTokens } = req;
  const P = ids.length;
  const next = maxTokens === 1 ? tops[plan.rowAt + plan.rows - 1]! : null;
  const completionIds = next ? [next.top.ids[0]!] : [];
  const text = (echo ? promptText : '') + (next ? tok.decode(completionIds, true) : '');
  if (N === null) return { text, logprobs: null, completionIds };

  const piece = (id: number) => tok.decode([id]);
  const lp: ChoiceLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  const shown = echo ? [...ids, ...completionIds] : completionIds;
  const offsets = textOffsets(tok, [...ids, ...completionIds]).slice(echo ? 0 : P);
  const echoLp = plan.wantEcho ? res[plan.at]!.tokenLogprobs[0]! : [];
  shown.forEach((id, i) => {
    lp.tokens.push(piece(id));
    lp.text_offset.push(offsets[i]!);
    const isPrompt = echo && i < P;
    if (isPrompt && i === 0) {
      lp.token_logprobs.push(null);
      lp.top_logprobs.push(null);
      return;
    }
    const value = isPrompt ? echoLp[i - 1]! : next!.top.logprobs[0]!;
    lp.token_logprobs.push(value);
    const map: Record<string, number> = {};
    const top = isPrompt ? (plan.wantTop ? tops[plan.rowAt + i - 1]!.top : null) : next!.top;
    if (top) top.ids.slice(0, N).forEach((v, j) => void (map[piece(v)] = top.logprobs[j]!));
    map[piece(id)] = value;
    lp.top_logprobs.push(map);
  });
  return { text, logprobs: lp, completionIds };
}

/** Character offset of each token in the decoded text of ids (special tokens skipped). */
function textOffsets(tok: TextTokenizer, ids: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; ++i) out.push(i === 0 ? 0 : tok.decode(ids.slice(0, i), true).length);
  return out;
}
