// T5's CUDA kernels against double-precision references (test/gpu/reference-t5.ts) on seeded random
// inputs, through the CUDA test addon's hooks (native/napi_cuda_test/cuda_t5_exports.cpp): ReLU and
// gated GELU-tanh forward/backward, and attention with T5's variants run through CudaBackend as the
// engine runs it (plan_t5's lists uploaded and bound): the encoder (bidirectional, relative position
// bias), the decoder's self attention (causal shared prefix, bias) and cross attention (q and k|v in
// two buffers), fused and naive plans, forward (out, lse) and backward (dq|dk|dv, dkv, dbias), in fp32
// (relative error <= 1e-4) and bf16 (<= 2e-2: only the attention output is rounded).
// Shapes: the fixture's (d_kv 12, 3 heads, 6 buckets, max distance 10: prompts 4-9x the distance) and
// Flan-T5's (d_kv 64: 64-row tiles, 32 buckets, max distance 128), prompts of 3, 70 and 1 tokens
// (several 32-key chunks and tiles) and candidates of 1-3 tokens.
// Skipped, with the reason in the suite's name, where there is no usable GPU.
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import type { ModelConfig } from '../../lib/io/model-config.js';
import { readModelConfig } from '../../lib/io/model-config.js';
import { cpuTestHooks } from '../../lib/native/test-hooks.js';
import { packBatch } from '../../lib/policy/batch.js';
import { kernels, maxRelErr, rand, suite, TOL } from './gpu.js';
import * as ref from './reference-t5.js';

const fixture = readModelConfig(join(__dirname, '..', 'fixtures', 'models', 't5-v1_1'));
const flan: ModelConfig = { ...fixture, headDim: 64, numHeads: 4, numKvHeads: 4, t5: { ...fixture.t5!, relativeAttentionNumBuckets: 32, relativeAttentionMaxDistance: 128 } };
const prompts = [[5, 6, 7], Array.from({ length: 70 }, (_, i) => 10 + i), [99]];
const candidates = [[[1], [2, 3], [4, 5, 6]], Array.from({ length: 9 }, (_, k) => [100 + k, 200 + k, 300 - k]), [[42, 43]]];
let seed = 5000;
const next = () => ++seed;

describe.skipIf(!kernels.ok)(suite("T5's CUDA kernels vs double references", kernels), () => {
  const ops = kernels.ops!;
  const { plan, t5 } = cpuTestHooks();

  describe.each(['fp32', 'bf16'] as const)('%s', (precision) => {
    const tol = TOL[precision];

    test.each([[7, 33], [64, 1024]])('relu and gated gelu-tanh, forward and backward (T=%i, I=%i)', (T, I) => {
      const u = rand(T * 2 * I, next(), 3), dact = rand(T * I, next());
      expect(maxRelErr(ops.relu({ u: u.subarray(0, T * I), precision }), ref.relu(u.subarray(0, T * I)))).toBeLessThanOrEqual(tol);
      expect(maxRelErr(ops.geglu({ u, T, I, precision }), ref.geglu(u, T, I))).toBeLessThanOrEqual(tol);
      if (precision === 'fp32') {
        expect(maxRelErr(ops.reluBackward({ dact, u: u.subarray(0, T * I) }), ref.reluBackward(dact, u.subarray(0, T * I)))).toBeLessThanOrEqual(tol);
        expect(maxRelErr(ops.gegluBackward({ dact, u, T, I }), ref.gegluBackward(dact, u, T, I))).toBeLessThanOrEqual(tol);
      }
    });

    describe.each([['fixture', fixture], ['flan-t5', flan]] as const)('%s shape', (_n, cfg) => {
      const batch = packBatch({ prompts, candidates }, { vocabSize: cfg.vocabSize, maxPositions: cfg.maxPositions });
      test.each([
        ['encoder', false], ['decoder', false], ['cross', false], ['encoder', true], ['decoder', true], ['cross', true],
      ] as const)('%s attention (naive %s): out, lse, dq|dk|dv, dkv, dbias', (part, naive) => {
        const p = plan.t5(cfg, batch, naive);
        const H = cfg.numHeads, D = cfg.headDim, HD = H * D, NB = cfg.t5!.relativeAttentionNumBuckets;
        const enc = part === 'encoder', cross = part === 'cross';
        const T = enc ? p.Te : p.Td, Te = p.Te;
        const q = rand(T * (cross ? HD : 3 * HD), next()), kv = cross ? rand(Te * 2 * HD, next()) : undefined;
        const bias = cross ? undefined : rand(NB * H, next(), 2), dout = rand(T * HD, next());
        const got = ops.t5Attention({ config: cfg, part, naive, q, kv, bias, dout, precision }, batch);
        const pos = enc ? p.encPos : p.decPos;
        const span = 2 * (Math.max(...pos) + 1);
        const rels = Int32Array.from({ length: 2 * span + 1 }, (_, i) => i - span);
        const table = t5.buckets(rels, enc, NB, cfg.t5!.relativeAttentionMaxDistance);
        const want = ref.t5Attention({
          q, kv, bias, dout, T, Te, H, D, NB, pos, bucket: (r) => table[r + span]!,
          vis: ref.visibility(enc ? p.enc : p.dec, part === 'decoder', cross ? p.enc : undefined),
        });
        expect(maxRelErr(got.out, want.out), 'out').toBeLessThanOrEqual(tol);
        expect(maxRelErr(got.lse, want.lse), 'lse').toBeLessThanOrEqual(tol);
        expect(maxRelErr(got.dq, want.dq), 'dq').toBeLessThanOrEqual(tol);
        if (cross) expect(maxRelErr(got.dkv!, want.dkv), 'dkv').toBeLessThanOrEqual(tol);
        else expect(maxRelErr(got.dbias!, want.dbias), 'dbias').toBeLessThanOrEqual(tol);
      });
    });
  });
});
