// scoreTokens' topN on the CUDA engine (native/model/prompt_logprobs.cpp over the CUDA backend's
// linear, the logits read back a chunk at a time) against transformers in float64, as
// test/policy/top-logprobs.test.ts does on the CPU: fp32 mode, every position's top 20 to 1e-4, each
// id the one transformers ranks there or a near-tie of the same value; bf16 mode: the top 20 values
// within 2e-2 relative (|Δ| <= 2e-2 max(1, |log p|), test/gpu/scoring.test.ts's bf16 measure).
// Skipped, with the reason in the suite's name, where there is no usable GPU.
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { fixtureRoot as root, fixturesWith, readTopRef, topNTokens } from '../hf-fixtures.js';
import { gpu, suite } from './gpu.js';

const N = 20;
const models = fixturesWith('top_logprobs.json');

describe.skipIf(!gpu.ok)(suite('CUDA top-N alternatives'), () => {
  describe.each(models)('%s', (name) => {
    for (const precision of ['fp32', 'bf16'] as const) {
      test(`${precision}: every position's top 20 equals transformers (float64) in one pass`, async () => {
        const ref = readTopRef(join(root, name));
        const policy = await Policy.load(join(root, name), { device: 'cuda', precision });
        try {
          for (const seq of ref.sequences) {
            const P = seq.ids.length;
            const r = await policy.scoreTokens(topNTokens(seq.ids), { topN: N });
            expect(r.topIds!.length).toBe(P * N);
            for (let t = 0; t < P; ++t) {
              const want = seq.positions[t]!;
              const lpOf = new Map(want.ids.map((v, j) => [v, want.logprobs[j]!]));
              for (let j = 0; j < N; ++j) {
                const id = r.topIds![t * N + j]!, lp = r.topLogprobs![t * N + j]!;
                const where = `${name} ${precision} position ${t} rank ${j}`;
                if (precision === 'bf16') {
                  expect(Math.abs(lp - want.logprobs[j]!) / Math.max(1, Math.abs(want.logprobs[j]!)), where).toBeLessThanOrEqual(2e-2);
                  continue;
                }
                expect(Math.abs(lp - want.logprobs[j]!), where).toBeLessThan(1e-4);
                if (id !== want.ids[j]) expect(Math.abs(lpOf.get(id)! - lp), `${where}: near-tie id ${id}`).toBeLessThan(1e-4);
              }
            }
          }
        } finally {
          await policy.dispose();
        }
      });
    }
  });
});
