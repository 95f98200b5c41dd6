// The Policy API's argument checks (lib/policy/arguments.ts): unknown load/step/training options, 'bf16'
// on the CPU, malformed score/forward/step/save inputs: each an InvalidArgument that names the field, never a raw
// TypeError; and valueHeadTrained, which says whether the value head's output means anything.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { Policy } from '../../lib/policy/policy.js';
import { errorCode } from '../glam-error.js';

const fixture = join(__dirname, '..', 'fixtures', 'models', 'gpt2');

/** The GlamError a promise rejects with (fails the test if it resolves or throws something else). */
async function rejection(p: Promise<unknown>): Promise<GlamError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(GlamError);
  return e as GlamError;
}

async function expectInvalid(p: Promise<unknown>, message: RegExp): Promise<void> {
  const e = await rejection(p);
  expect(e.code).toBe('InvalidArgument');
  expect(e.message).toMatch(message);
}

describe('Policy.load options', () => {
  test('an unknown option is named, with the known ones', async () => {
    await expectInvalid(Policy.load(fixture, { bogus: 1 } as never), /^Policy.load has no option 'bogus'; its options are threads, valueHidden, valueSeed, device, precision$/);
    await expectInvalid(Policy.load(fixture, null as never), /^Expected an object for the options of Policy.load but received null/);
    await expectInvalid(Policy.load(fixture, { valueHidden: [64, 0] }), /for valueHidden but received \[64,0\] of type array/);
    await expectInvalid(Policy.load(fixture, { valueSeed: 1.5 }), /for valueSeed/);
    await expectInvalid(Policy.load(42 as never), /^Expected a non-empty path for the directory of Policy.load but received 42 of type number$/);
    await expectInvalid(Policy.load(fixture, { threads: 0 }), /^Expected an integer between 1 and 256 for threads but received 0$/);
  });

  test("'bf16' with device 'cpu' is refused (the CPU computes in fp32); 'fp32' and no precision load", async () => {
    await expectInvalid(Policy.load(fixture, { device: 'cpu', precision: 'bf16', threads: 1 }), /^precision 'bf16' applies to the CUDA backend, but device 'cpu' computes in fp32/);
    expect(process.env.GLAM_DEVICE).toBe('cpu'); // vitest.config.ts: $GLAM_DEVICE names the device as the option would
    await expectInvalid(Policy.load(fixture, { precision: 'bf16', threads: 1 }), /device 'cpu' computes in fp32/);
    for (const opts of [{ precision: 'fp32' as const }, {}]) {
      const p = await Policy.load(fixture, { device: 'cpu', threads: 1, ...opts });
      expect(p.precision).toBe('fp32');
      await p.dispose();
    }
  });
});

describe('score, scoreTokens, forward and step inputs', () => {
  let policy: Policy;
  beforeAll(async () => {
    policy = await Policy.load(fixture, { threads: 1 });
  });
  afterAll(async () => policy.dispose());

  test('score(): the request and each text are checked by name', async () => {
    await expectInvalid(policy.score(null as never), /^Expected an object \{prompts, candidates\} for the request of score\(\) but received null/);
    await expectInvalid(policy.score(undefined as never), /for the request of score\(\) but received undefined/);
    await expectInvalid(policy.score({ prompts: 'hi', candidates: [['a']] } as never), /for prompts but received hi of type string/);
    await expectInvalid(policy.score({ prompts: [42], candidates: [['a']] } as never), /^Expected a string for prompts\[0\] but received 42 of type number$/);
    await expectInvalid(policy.score({ prompts: ['hi'] } as never), /for candidates but received undefined/);
    await expectInvalid(policy.score({ prompts: ['hi'], candidates: ['a'] } as never), /for candidates\[0\] but received a of type string/);
    await expectInvalid(policy.score({ prompts: ['hi', 'yo'], candidates: [['a'], ['b', null]] } as never), /for candidates\[1\]\[1\] but received null/);
    await expectInvalid(policy.score({ prompts: ['hi'], candidates: [['a']], mode: 'fast' } as never), /^Expected 'fused' or 'naive' for mode/);
    await expectInvalid(policy.score({ prompts: ['hi'], candidates: [['a']], tokenization: 'bpe' } as never), /'separate' or 'joint' or 'lamorel' for tokenization/);
    await expectInvalid(policy.score({ prompts: ['hi'], candidates: [['a']], hidden: 1 } as never), /true or false for hidden/);
    // the empty-text codes stay as they were
    expect(await errorCode(policy.score({ prompts: [''], candidates: [['a']] }))).toBe('EmptyPrompt');
    expect(await errorCode(policy.score({ prompts: ['hi'], candidates: [['']] }))).toBe('EmptyCandidate');
  });

  test('scoreTokens() options', async () => {
    const t = { prompts: [[1, 2]], candidates: [[[3]]] };
    await expectInvalid(policy.scoreTokens(t, { mode: 'fast' } as never), /for mode/);
    await expectInvalid(policy.scoreTokens(t, { tokenization: 'joint' } as never), /^scoreTokens has no option 'tokenization'/);
    expect(await errorCode(policy.scoreTokens(null as never))).toBe('BatchInvalid');
  });

  test('forward() and step()', async () => {
    const p = await Policy.load(fixture, { threads: 1 });
    try {
      await expectInvalid(Promise.resolve().then(() => p.enableTraining(null as never)), /^Expected an object for the options of enableTraining but received null/);
      await expectInvalid(Promise.resolve().then(() => p.enableTraining({ mode: 'full', lr: 1 } as never)),
        /^enableTraining has no option 'lr'; its options are mode, rank, alpha, targets, freezeEmbeddings, freezeLmHead, seed$/);
      expect(p.trainingInfo().enabled).toBe(false);
      p.enableTraining({ mode: 'full' });
      await expectInvalid(p.save(null as never), /^Expected a non-empty path for the directory of save\(\) but received null/);
      await expectInvalid(p.forward(null as never, { grad: true }), /for the request of forward\(\)/);
      await expectInvalid(p.forward({ prompts: ['x'], candidates: [[5]] } as never, { grad: true }), /for candidates\[0\]\[0\] but received 5 of type number/);
      await expectInvalid(p.forward({ tokens: 3 } as never, { grad: true }), /for tokens/);
      await expectInvalid(p.step(undefined as never), /for the options of step\(\)/);
      await expectInvalid(p.step(null as never), /for the options of step\(\) but received null/);
      await expectInvalid(p.step({ lr: Number.NaN }), /^Expected a finite number >= 0 for lr but received NaN/);
      await expectInvalid(p.step({ lr: 1e-3, weight_decay: 0.1 } as never), /^step\(\) has no option 'weight_decay'; its options are lr, betas, eps, weightDecay, maxGradNorm$/);
      await expectInvalid(p.step({ lr: 1e-3, betas: [0.9, 1] }), /for betas/);
      await expectInvalid(p.step({ lr: 1e-3, eps: 0 }), /for eps/);
      await expectInvalid(p.step({ lr: 1e-3, weightDecay: -1 }), /for weightDecay/);
      await expectInvalid(p.step({ lr: 1e-3, maxGradNorm: Number.POSITIVE_INFINITY }), /for maxGradNorm/);
      expect(p.trainingInfo().step).toBe(0); // nothing reached the optimizer
    } finally {
      await p.dispose();
    }
  });
});

describe('valueHeadTrained', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glam-vh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('false for a model without value_head.safetensors; true after a step, and when loaded from a saved policy', async () => {
    const p = await Policy.load(fixture, { threads: 1 });
    try {
      expect(p.valueHeadTrained).toBe(false);
      p.enableTraining({ mode: 'full' });
      const f = await p.forward({ prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] }, { grad: true });
      await p.backward(f.handle, [1, 0], [1]);
      expect(p.valueHeadTrained).toBe(false);
      await p.step({ lr: 1e-4 });
      expect(p.valueHeadTrained).toBe(true);
      await p.save(join(dir, 'ck'));
    } finally {
      await p.dispose();
    }
    const q = await Policy.load(join(dir, 'ck'), { threads: 1 });
    expect(q.valueHeadTrained).toBe(true);
    await q.dispose();
  });
});
