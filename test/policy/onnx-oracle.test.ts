// A second, independent oracle: the GPT-2 fixture exported to ONNX by scripts/fixtures (torch.onnx),
// run by onnxruntime-node the naive way (full sequences, full logits, log-softmax in JS). glam's
// fused pass must agree within 1e-4 on every recorded prompt and candidate.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, test } from 'vitest';

import { scoreWithOrt } from '../../bench/ort-naive.js';
import { Policy } from '../../lib/policy/policy.js';

const dir = join(__dirname, '..', 'fixtures', 'models', 'gpt2');

test('glam fused == onnxruntime-node naive on the GPT-2 fixture (1e-4)', async () => {
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
    prompts: { prompt_ids: number[]; candidates: { ids: number[] }[] }[];
  };
  const batch = { prompts: exp.prompts.map((p) => p.prompt_ids), candidates: exp.prompts.map((p) => p.candidates.map((c) => c.ids)) };
  const policy = await Policy.load(dir, { threads: 2 });
  const glam = await policy.scoreTokens(batch);
  await policy.dispose();
  const ort = await scoreWithOrt(join(dir, 'model.onnx'), batch, 2, 0);
  expect(ort.logprobs.length).toBe(glam.logprobs.length);
  let max = 0;
  ort.logprobs.forEach((lp, k) => (max = Math.max(max, Math.abs(lp - glam.logprobs[k]!))));
  console.log(`onnxruntime-node vs glam: max |Δ logprob| = ${max.toExponential(2)} over ${ort.logprobs.length} candidates`);
  expect(max).toBeLessThan(1e-4);
});
