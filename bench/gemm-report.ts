// GFLOP/s of the CPU backend's matrix multiply on a model's own shapes, against OpenBLAS sgemm in
// the same run when libopenblas is installed (skipped with a message otherwise). Part of bench/score.
// Legend: M tokens of a GLAM-shaped batch (32 prompts x ~162 rows), N output features, K input features.
import { Rng } from '../lib/util/rng.js';
import type { ModelConfig } from '../lib/io/model-config.js';
import { cpuTestHooks } from '../lib/native/test-hooks.js';

function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = rng.nextFloat() * 2 - 1;
  return a;
}

export function gemmReport(cfg: ModelConfig, threads: number): void {
  // OpenBLAS's idle threads spin for ~65 ms after each call and slow what runs next; must be set
  // before the addon first dlopens libopenblas (bench/gemm.ts does the same).
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  const { ops } = cpuTestHooks();
  const M = 5184;
  const C = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const qkv = (cfg.numHeads + 2 * cfg.numKvHeads) * cfg.headDim;
  const up = cfg.family === 'llama' ? 2 * I : I;
  const shapes: [string, number, number, number][] = [
    ['qkv', M, qkv, C], ['o_proj', M, C, cfg.numHeads * cfg.headDim], ['up', M, up, C], ['down', M, C, I], ['lm-head tile', 224, 2048, C],
  ];
  const rng = new Rng(3);
  for (const [name, m, n, k] of shapes) {
    const X = randomArray(m * k, rng);
    const W = randomArray(n * k, rng);
    const flops = 2 * m * n * k;
    const time = (f: () => unknown): number => {
      f();
      const t0 = performance.now();
      let reps = 0;
      while (performance.now() - t0 < 300 || reps < 2) {
        f();
        ++reps;
      }
      return (performance.now() - t0) / 1000 / reps;
    };
    const glam = flops / time(() => ops.gemm('nt', X, W, m, n, k, { threads })) / 1e9;
    let blas = 'OpenBLAS not installed (apt-get install libopenblas0 to compare)';
    if (ops.openblasSgemm('nt', X, W, m, n, k, { threads }) !== null) {
      const g = flops / time(() => ops.openblasSgemm('nt', X, W, m, n, k, { threads })) / 1e9;
      blas = `OpenBLAS ${g.toFixed(1)} GFLOP/s -> glam/OpenBLAS ${(glam / g).toFixed(2)}`;
    }
    console.log(`  gemm ${name.padEnd(12)} [${m}x${k}]x[${n}x${k}]^T: glam ${glam.toFixed(1)} GFLOP/s; ${blas}`);
  }
}
