// The CUDA addon on any machine: it is built when CI says a toolkit was provided
// (GLAM_EXPECT_CUDA_BUILD=1, set by .ci/run), it loads without a GPU or driver and reports a device
// count, and the backend selection falls back to the CPU (device 'auto') or fails with a typed,
// actionable error (device 'cuda') when no GPU is usable; a T5 model reaches its CUDA T5 engine
// (native/cuda/cuda_t5_engine.h), which rejects typed without a device.
import { join } from 'node:path';

import { afterEach, describe, expect, test, vi } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { loadModelFiles } from '../../lib/io/model-files.js';
import { callNative, cudaAddon, cudaAddonPath, selectBackend } from '../../lib/native/binding.js';
import { Policy } from '../../lib/policy/policy.js';
import { errorCode } from '../glam-error.js';

const fixture = join(__dirname, '..', 'fixtures', 'models', 'llama');
const cuda = cudaAddon();
const gpus = cuda.addon ? cuda.addon.deviceCount().count : 0;

describe('CUDA addon build', () => {
  test.runIf(process.env.GLAM_EXPECT_CUDA_BUILD === '1')('CI built glam_cuda.node and it loads without a GPU', () => {
    expect(cuda.reason).toBe('');
    expect(cuda.addon?.backend).toBe('cuda');
    expect(cudaAddonPath()).toMatch(/build-cuda[/\\]Release[/\\]glam_cuda\.node$/);
  });

  test.runIf(cuda.addon !== undefined)('the loaded addon exposes the whole declared surface and no test hooks', () => {
    const a = cuda.addon!;
    const d = a.deviceCount();
    expect(Number.isInteger(d.count) && d.count >= 0).toBe(true);
    if (d.count === 0) expect(d.reason.length).toBeGreaterThan(0);
    expect(typeof a.loadModel).toBe('function');
    // the kernel hooks live in glam_cuda_test.node (test/native/test-hooks.test.ts)
    expect(Object.keys(a).sort()).toEqual(['NativeModel', 'backend', 'deviceCount', 'loadModel']);
  });
});

describe.runIf(gpus === 0)('without a usable GPU', () => {
  afterEach(() => vi.restoreAllMocks());

  test("device 'cpu' is the CPU addon, with no note", () => {
    const b = selectBackend('cpu');
    expect(b.kind).toBe('cpu');
    expect(b.kind === 'cpu' && b.note).toBeFalsy();
  });

  test("device 'auto' falls back to the CPU and says why", () => {
    const b = selectBackend('auto');
    expect(b.kind).toBe('cpu');
    const note = b.kind === 'cpu' ? b.note ?? '' : '';
    expect(note).toMatch(/^glam: running on the CPU: /);
    expect(note).toMatch(cuda.addon ? /no CUDA device is visible/ : /CUDA addon is not built|does not load/);
  });

  test("device 'cuda' is a DeviceUnavailable error that says what to do", () => {
    let err: unknown;
    try {
      selectBackend('cuda');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GlamError);
    expect((err as GlamError).code).toBe('DeviceUnavailable');
    expect((err as GlamError).message).toMatch(/npm run build:native/);
    expect((err as GlamError).message).toMatch(/device: 'auto' or 'cpu'/);
  });

  test.runIf(cuda.addon !== undefined)('the CUDA addon builds its T5 engine for a T5 model, which rejects with DeviceUnavailable here', async () => {
    const { config, weights } = loadModelFiles(join(__dirname, '..', 'fixtures', 'models', 't5-v1_1'));
    expect(config.family).toBe('t5');
    expect(await errorCode(callNative(() => cuda.addon!.loadModel(config, Object.fromEntries(weights), { precision: 'fp32' })))).toBe('DeviceUnavailable');
  });

  test("Policy.load with device 'cuda' rejects with DeviceUnavailable; 'auto' runs on the CPU in fp32", async () => {
    expect(await errorCode(Policy.load(fixture, { threads: 1, device: 'cuda' }))).toBe('DeviceUnavailable');
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const p = await Policy.load(fixture, { threads: 1, device: 'auto', precision: 'bf16' });
    try {
      expect(p.device).toBe('cpu');
      expect(p.precision).toBe('fp32'); // the CPU engine computes in fp32 whatever was asked
      const r = await p.score({ prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] });
      expect(r.logprobs.length).toBe(2);
    } finally {
      await p.dispose();
    }
    const lines = spy.mock.calls.map((c) => String(c[0]));
    expect(lines.filter((l) => l.startsWith('glam: running on the CPU')).length).toBeLessThanOrEqual(1);
  });
});
