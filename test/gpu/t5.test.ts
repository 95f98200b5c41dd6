// T5 on a GPU machine. The CUDA backend has no encoder-decoder attention variants (bidirectional,
// cross, relative position bias) nor T5's ReLU / gated-GELU kernels yet, so it must REFUSE a T5 model
// (UnsupportedArchitecture) rather than run another architecture's code; device 'auto' runs T5 on the
// CPU engine, whose numbers still match transformers there. The CUDA-vs-CPU fp32 comparison is listed
// as a todo until those kernels exist.
// Skipped, with the reason in the suite's name, where there is no usable GPU.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { Policy } from '../../lib/policy/policy.js';
import { gpu, suite } from './gpu.js';

const root = join(__dirname, '..', 'fixtures', 'models');

describe.skipIf(!gpu.ok)(suite('T5 with the CUDA addon'), () => {
  test.each(['t5-v1_0', 't5-v1_1'])("%s: device 'cuda' is UnsupportedArchitecture; 'auto' scores on the CPU as transformers does", async (name) => {
    const dir = join(root, name);
    const err = (await Policy.load(dir, { device: 'cuda', precision: 'fp32' }).catch((e: unknown) => e)) as GlamError;
    expect(err).toBeInstanceOf(GlamError);
    expect(err.code).toBe('UnsupportedArchitecture');
    const p = await Policy.load(dir, { device: 'auto', threads: 4 });
    expect(p.device).toBe('cpu');
    const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { prompts: { prompt: string; candidates: { text: string; logprob: number }[] }[] };
    const r = await p.score({ prompts: exp.prompts.map((q) => q.prompt), candidates: exp.prompts.map((q) => q.candidates.map((c) => c.text)) });
    const want = exp.prompts.flatMap((q) => q.candidates.map((c) => c.logprob));
    want.forEach((lp, k) => expect(Math.abs(r.logprobs[k]! - lp)).toBeLessThan(1e-4));
    await p.dispose();
  });

  test.todo('CUDA T5 scoring and gradients equal the CPU engine in fp32 (needs the CUDA attention variants and T5 activations)');
});
