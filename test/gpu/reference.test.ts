// The GPU tests' references checked on the CPU (this file always runs): the whole scoring pass
// composed from test/gpu/reference.ts (reference-model.ts) against transformers' float64 log-probs
// and hidden states in the fixtures' expected.json, within 1e-4, for every architecture. If a
// reference were wrong, the GPU parity tests would fail for the wrong reason; this catches it here.
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { loadModelFiles } from '../../lib/io/model-files.js';
import { fixtureRoot as root, fixturesWith, readExpected } from '../hf-fixtures.js';
import { referenceScore } from './reference-model.js';

// T5 (encoder-decoder) has its own tests: test/policy/t5-*.test.ts, test/gpu/t5.test.ts
const models = fixturesWith('expected.json');

describe('kernel references composed into the scoring pass (CPU)', () => {
  test.each(models)('%s: log-probs and hidden states equal transformers within 1e-4', (name) => {
    const dir = join(root, name);
    const exp = readExpected(dir);
    const { config, weights } = loadModelFiles(dir);
    const prompts = exp.prompts.slice(0, 3); // enough rows for every mask case; keeps the double-precision run short
    const r = referenceScore(config, weights, prompts.map((p) => p.prompt_ids), prompts.map((p) => p.candidates.map((c) => c.ids)));
    let dLp = 0, dTok = 0, dH = 0, k = 0, t = 0;
    prompts.forEach((p, b) => {
      for (const c of p.candidates) {
        dLp = Math.max(dLp, Math.abs(r.logprobs[k++]! - c.logprob));
        for (const lp of c.token_logprobs) dTok = Math.max(dTok, Math.abs(r.tokenLogprobs[t++]! - lp));
      }
      p.hidden_last.forEach((h, i) => (dH = Math.max(dH, Math.abs(r.hidden[b * config.hiddenSize + i]! - h))));
    });
    console.log(`${name}: max abs diff logprob ${dLp.toExponential(2)} token ${dTok.toExponential(2)} hidden ${dH.toExponential(2)} over ${k} candidates`);
    expect(k).toBeGreaterThan(5);
    expect(dLp).toBeLessThan(1e-4);
    expect(dTok).toBeLessThan(1e-4);
    expect(dH).toBeLessThan(1e-4);
  });
});
