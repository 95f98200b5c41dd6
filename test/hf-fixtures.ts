// The Hugging Face references the parity tests share: where the fixture models are
// (test/fixtures/models/*, recorded by scripts/fixtures/make_models.py and make_top_logprobs.py), which
// of them carry which record, the records' schemas (SmolLM2's expected.json, from
// scripts/fixtures/make_smollm2.py, is the same schema with a few more fields), the requests that
// replay them, and the largest differences of a score from them. The assertions and their tolerances
// stay in each test.
// Subtle: T5 fixtures (t5-*) record an encoder-decoder schema of their own and are never listed here
// (test/policy/t5-parity.test.ts reads them).
// Legend: B prompts, N candidates, C hidden, P tokens of a top-N sequence.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ScoreResult } from '../lib/policy/score-result.js';

/** The committed fixture models' folder. */
export const fixtureRoot = join(__dirname, 'fixtures', 'models');

/** The decoder-only fixture models that hold `record` (expected.json: token ids, log-probs, hidden states; top_logprobs.json: top-N). */
export function fixturesWith(record: 'expected.json' | 'top_logprobs.json'): string[] {
  return readdirSync(fixtureRoot).filter((m) => existsSync(join(fixtureRoot, m, record)) && !m.startsWith('t5-'));
}

export interface ExpectedCandidate {
  text: string;
  ids: number[];
  logprob: number; // float64, naive
  token_logprobs: number[];
  logprob_f32?: number; // SmolLM2: transformers in float32
}

/** expected.json: transformers' token ids, candidate log-probs and last-token hidden states. */
export interface Expected {
  name?: string;
  tokenizer: { text: string; ids: number[] }[];
  tokenizer_with_specials: { text: string; ids: number[] }[];
  prompts: {
    id?: string; // SmolLM2
    prompt: string;
    prompt_ids: number[];
    hidden_last: number[]; // (C)
    hidden_layers?: number[][]; // SmolLM2, first prompt: last token after each layer (pre-norm but the last)
    candidates: ExpectedCandidate[];
  }[];
}

/** top_logprobs.json: per sequence, every position's best k ids and log-probs (float64) and the actual next token's. */
export interface TopRef {
  k: number;
  sequences: { ids: number[]; positions: { ids: number[]; logprobs: number[]; actual: number | null }[] }[];
}

export function readExpected(dir: string): Expected {
  return JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
}

export function readTopRef(dir: string): TopRef {
  return JSON.parse(readFileSync(join(dir, 'top_logprobs.json'), 'utf8')) as TopRef;
}

/** The recorded prompts and candidates as token ids (a scoreTokens request). */
export function expectedTokens(exp: Pick<Expected, 'prompts'>): { prompts: number[][]; candidates: number[][][] } {
  return { prompts: exp.prompts.map((p) => p.prompt_ids), candidates: exp.prompts.map((p) => p.candidates.map((c) => c.ids)) };
}

/**
 * A top-N sequence as ONE fused pass: prompt [x0], candidate [x1 .. x_{P-1}, placeholder], so that
 * target token t is scored from the distribution at position t (P positions in all).
 */
export function topNTokens(ids: number[]): { prompts: number[][]; candidates: number[][][] } {
  return { prompts: [ids.slice(0, 1)], candidates: [[[...ids.slice(1), ids[0]!]]] };
}

/**
 * The largest |Δ| of a scoreTokens(expectedTokens(exp), { hidden: true }) result from the record:
 * candidate and token log-probs together, and hidden states (relativeHidden: each prompt's divided by
 * its largest |entry|).
 */
export function expectedErrors(exp: Pick<Expected, 'prompts'>, r: ScoreResult, relativeHidden = false): { logprob: number; hidden: number } {
  const C = exp.prompts[0]!.hidden_last.length;
  let maxLp = 0;
  let maxH = 0;
  let k = 0;
  exp.prompts.forEach((p, b) => {
    for (const c of p.candidates) {
      maxLp = Math.max(maxLp, Math.abs(r.logprobs[k]! - c.logprob));
      c.token_logprobs.forEach((lp, j) => (maxLp = Math.max(maxLp, Math.abs(r.tokenLogprobs[r.tokenOffset[k]! + j]! - lp))));
      ++k;
    }
    const scale = relativeHidden ? Math.max(...p.hidden_last.map(Math.abs)) : 1;
    p.hidden_last.forEach((h, i) => (maxH = Math.max(maxH, Math.abs(r.hidden![b * C + i]! - h) / scale)));
  });
  return { logprob: maxLp, hidden: maxH };
}
