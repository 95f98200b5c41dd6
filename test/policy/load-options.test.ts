// Policy.load's device and precision options: defaults, $GLAM_DEVICE, and one message format for bad values.
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { resolveDevice, resolvePrecision } from '../../lib/policy/load-options.js';
import { Policy } from '../../lib/policy/policy.js';
import { errorCode, expectInvalid } from '../glam-error.js';

describe('load options', () => {
  test("device defaults to 'auto', or $GLAM_DEVICE", () => {
    expect(resolveDevice(undefined, {})).toBe('auto');
    expect(resolveDevice(undefined, { GLAM_DEVICE: 'cpu' })).toBe('cpu');
    expect(resolveDevice(undefined, { GLAM_DEVICE: '' })).toBe('auto');
    expect(resolveDevice('cuda', { GLAM_DEVICE: 'cpu' })).toBe('cuda'); // the option wins
  });

  test('bad devices and precisions are InvalidArgument in the sharp format', () => {
    expectInvalid(() => resolveDevice('gpu', {}), /^Expected 'auto', 'cpu' or 'cuda' for device but received gpu of type string$/);
    expectInvalid(() => resolveDevice(1, {}), /for device but received 1 of type number/);
    expectInvalid(() => resolveDevice(undefined, { GLAM_DEVICE: 'tpu' }), /for GLAM_DEVICE but received tpu/);
    expect(resolvePrecision(undefined)).toBe('bf16');
    expect(resolvePrecision('fp32')).toBe('fp32');
    expectInvalid(() => resolvePrecision('fp16'), /^Expected 'bf16' or 'fp32' for precision but received fp16 of type string$/);
  });

  test('Policy.load validates them before touching the model', async () => {
    const dir = join(__dirname, '..', 'fixtures', 'models', 'gpt2');
    expect(await errorCode(Policy.load(dir, { device: 'gpu' as never }))).toBe('InvalidArgument');
    expect(await errorCode(Policy.load(dir, { device: 'cpu', precision: 'int8' as never }))).toBe('InvalidArgument');
  });

  test('a CPU policy reports its device and fp32', async () => {
    const p = await Policy.load(join(__dirname, '..', 'fixtures', 'models', 'gpt2'), { threads: 1, device: 'cpu' });
    try {
      expect(p.device).toBe('cpu');
      expect(p.precision).toBe('fp32');
    } finally {
      await p.dispose();
    }
  });
});
