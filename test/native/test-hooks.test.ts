// The production addons carry no test hooks, and the test addons (lib/native/test-hooks.ts) carry
// every declared one: the export lists of glam_cpu.node / glam_cuda.node against the production
// interface of lib/native/binding.ts, and of glam_cpu_test.node / glam_cuda_test.node against
// test-hooks.ts. The CUDA test addon loads without a GPU, so CI (GLAM_EXPECT_CUDA_BUILD=1, .ci/run)
// checks it was built and links; its hooks run only in test/gpu. Last, no file outside lib/native
// loads an addon itself (lib, test, bench).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, test } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { cpuAddon, cudaAddon } from '../../lib/native/binding.js';
import { cpuTestHooks, cudaTestHooks } from '../../lib/native/test-hooks.js';
import { packageRoot } from '../../lib/util/package-root.js';
import { expectInvalid } from '../glam-error.js';
import { qwen } from './plan-models.js';

const CUDA_OPS = [
  'attention', 'embedding', 'gelu', 'gemm', 'gemmRate', 'layernorm', 'lmHead', 'rmsnorm', 'rope', 'swiglu', 'valueHead',
  'adamw', 'attentionBackward', 'embeddingBackward', 'geluBackward', 'lmHeadBackward', 'normBackward', 'ropeBackward',
  'swigluBackward', 'valueHeadBackward', 'relu', 'geglu', 'reluBackward', 'gegluBackward', 't5Attention',
].sort();

describe('the CPU addons', () => {
  test('glam_cpu.node exports the production interface only', () => {
    expect(Object.keys(cpuAddon()).sort()).toEqual(['NativeModel', 'backend', 'familyTable', 'loadModel', 't5Table']);
  });

  test('glam_cpu_test.node exports the GEMM, OpenBLAS, peak and plan hooks', () => {
    const { ops, plan } = cpuTestHooks();
    expect(Object.keys(ops).sort()).toEqual(['cpuPeakGflops', 'gemm', 'openblasSgemm']);
    expect(Object.keys(plan).sort()).toEqual(['batch', 'bucketCuts', 'checkFits', 'maxTokens', 'maxTrainTokens', 'optimizerState', 't5', 'train', 'workspace']);
  });

  test("a hook's bad argument crosses as a GlamError with its code", () => {
    const { ops, plan } = cpuTestHooks();
    expectInvalid(() => ops.gemm('nt', new Float32Array(6), new Float32Array(12), 2, 4, 4), /X has length 6/);
    expectInvalid(() => ops.cpuPeakGflops(0), /threads must be an integer/);
    let err: unknown;
    try {
      plan.checkFits(qwen, { T: 4096, B: 1, R: 1, NT: 1, ntiles: 1 }, 'fp32', 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GlamError);
    expect((err as GlamError).code).toBe('BatchTooLarge');
  });
});

describe('the CUDA addons', () => {
  const built = process.env.GLAM_EXPECT_CUDA_BUILD === '1' || cudaAddon().addon !== undefined;

  test.runIf(built)('glam_cuda_test.node is built beside glam_cuda.node, loads without a GPU and exports every kernel hook', () => {
    const { hooks, reason } = cudaTestHooks();
    expect(reason).toBe('');
    expect(Object.keys(hooks!.ops).sort()).toEqual(CUDA_OPS);
  });
});

/** Every .ts / .mjs file under `dir`, as paths relative to the package root. */
function sources(dir: string): string[] {
  const root = packageRoot();
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mjs)$/.test(f))
    .map((f) => relative(root, join(root, dir, f)));
}

test('only lib/native loads an addon: no createRequire, dlopen or require of a .node file elsewhere', () => {
  const loads = /createRequire|process\.dlopen|require\([^)]*\.node\b/;
  const offenders = ['lib', 'test', 'bench']
    .flatMap(sources)
    .filter((f) => !f.startsWith(join('lib', 'native')) && f !== join('test', 'native', 'test-hooks.test.ts'))
    .filter((f) => loads.test(readFileSync(join(packageRoot(), f), 'utf8')));
  expect(offenders).toEqual([]);
});
