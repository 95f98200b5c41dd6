// Bad input to the Policy API: each gets a typed GlamError with a stable code, and the process lives on.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { loadModelFiles } from '../../lib/io/model-files.js';
import { cpuAddon } from '../../lib/native/binding.js';
import { Policy } from '../../lib/policy/policy.js';
import { errorCode } from '../glam-error.js';

const fixture = join(__dirname, '..', 'fixtures', 'models', 'gpt2');


describe('Policy bad input', () => {
  let policy: Policy;
  beforeAll(async () => {
    policy = await Policy.load(fixture, { threads: 1 });
  });
  afterAll(async () => policy.dispose());

  test('empty candidate list, empty prompt, empty candidate, mismatched lists', async () => {
    expect(await errorCode(policy.score({ prompts: ['hi'], candidates: [[]] }))).toBe('EmptyCandidates');
    expect(await errorCode(policy.score({ prompts: [''], candidates: [['a']] }))).toBe('EmptyPrompt');
    expect(await errorCode(policy.score({ prompts: ['hi'], candidates: [['']] }))).toBe('EmptyCandidate');
    expect(await errorCode(policy.score({ prompts: ['hi', 'there'], candidates: [['a']] }))).toBe('BatchInvalid');
    expect(await errorCode(policy.score({ prompts: [], candidates: [] }))).toBe('BatchInvalid');
  });

  test('a sequence longer than the model positions', async () => {
    const long = 'go forward '.repeat(400);
    expect(await errorCode(policy.score({ prompts: [long], candidates: [['a']] }))).toBe('SequenceTooLong');
  });

  test('the native layer re-checks a malformed packed batch (no crash)', async () => {
    const native = await cpuAddon().loadModel(policy.config, {}, { threads: 1 }).catch((e: unknown) => e);
    expect((native as Error).message).toMatch(/^TensorMissing: /);
  });

  test('the native layer re-checks packed batches itself (typed errors, no crash)', async () => {
    const { config, weights } = loadModelFiles(fixture);
    const m = await cpuAddon().loadModel(config, Object.fromEntries(weights), { threads: 1 });
    const i32 = (a: number[]) => Int32Array.from(a);
    const good = { tokens: i32([1, 2, 3]), promptStart: i32([0]), promptLen: i32([2]), candStart: i32([2]), candLen: i32([1]), candPrompt: i32([0]) };
    const nativeCode = async (b: object) => {
      try {
        await m.score(b as typeof good, { mode: 'fused', hidden: false });
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };
    expect(await nativeCode(good)).toBeUndefined();
    expect(await nativeCode({ ...good, candStart: i32([1]) })).toBe('BatchInvalid'); // overlaps the prompt
    expect(await nativeCode({ ...good, candLen: i32([5]) })).toBe('BatchInvalid'); // runs past the tokens
    expect(await nativeCode({ ...good, candPrompt: i32([3]) })).toBe('BatchInvalid');
    expect(await nativeCode({ ...good, tokens: i32([1, 2, 1 << 30]) })).toBe('TokenOutOfRange');
    expect(await nativeCode({ ...good, tokens: Float32Array.from([1, 2, 3]) })).toBe('BatchInvalid');
    expect(await nativeCode({ ...good, promptLen: i32([0]), candStart: i32([0]), candLen: i32([3]) })).toBe('EmptyPrompt');
    m.dispose();
    expect(await nativeCode(good)).toBe('Disposed');
  });

  test('calls after dispose() throw Disposed', async () => {
    const p = await Policy.load(fixture, { threads: 1 });
    const inflight = p.score({ prompts: ['hello'], candidates: [['a', 'b']] });
    await p.dispose();
    await expect(inflight).resolves.toBeDefined(); // queued work finishes before memory is freed
    expect(await errorCode(p.score({ prompts: ['hello'], candidates: [['a']] }))).toBe('Disposed');
    await p.dispose(); // idempotent
  });
});

describe('Policy.load bad directories', () => {
  test('missing directory, missing tokenizer, unsupported architecture', async () => {
    expect(await errorCode(Policy.load('/nonexistent/model'))).toBe('ConfigMissing');
    const dir = mkdtempSync(join(tmpdir(), 'glam-bad-'));
    cpSync(fixture, dir, { recursive: true });
    const noTok = mkdtempSync(join(tmpdir(), 'glam-notok-'));
    for (const f of ['config.json', 'model.safetensors']) cpSync(join(fixture, f), join(noTok, f));
    expect(await errorCode(Policy.load(noTok))).toBe('TokenizerMissing');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['BartForConditionalGeneration'] }));
    const err = (await Policy.load(dir).catch((e: unknown) => e)) as GlamError;
    expect(err.code).toBe('UnsupportedArchitecture');
    expect(err.message).toMatch(/BartForConditionalGeneration/);
    expect(err.message).toMatch(/LlamaForCausalLM/);
  });
});
