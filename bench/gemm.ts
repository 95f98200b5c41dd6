// bench/gemm: GFLOP/s of the CPU backend's gemm_nt (native/ops/cpu/gemm.cpp) on the engine's shapes,
// with 1 and 2 threads, as a share of the machine's fp32 FMA peak measured in the same run, and
// against OpenBLAS cblas_sgemm in the same run when libopenblas.so.0 is installed (dlopen'ed by
// the addon; skipped with a message otherwise).
// Shapes: GPT-2 small (hidden 768, MLP 3072) and a hidden-256 model (MLP 1024) on a batch of
// M = 5184 tokens: qkv, attention output, MLP up, MLP down; and an LM-head vocabulary tile
// (224 scored rows x 4096 vocabulary rows).
// Timing: per shape, glam and OpenBLAS alternate in --rounds rounds (--min-ms each in all, after a
// warm-up call per round), so that both see the same load on a shared machine; the best call and
// the median call are reported (best: the kernel's speed; median: what a run sees). The output
// array is reused (opts.out), so allocation is not timed. OPENBLAS_THREAD_TIMEOUT defaults to 4
// here: OpenBLAS's idle threads would otherwise spin ~0.1 s after each call on the other core.
// Usage: npm run build && node dist/bench/gemm.js [--threads 1,2] [--min-ms 600] [--rounds 3] [--models gpt2,h256]
import { cpuTestHooks } from '../lib/native/test-hooks.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

interface Shape {
  model: string;
  name: string;
  M: number;
  N: number;
  K: number;
}

function shapes(model: string, C: number, I: number): Shape[] {
  const T = 5184;
  return [
    { model, name: 'qkv', M: T, N: 3 * C, K: C },
    { model, name: 'attn out', M: T, N: C, K: C },
    { model, name: 'mlp up', M: T, N: I, K: C },
    { model, name: 'mlp down', M: T, N: C, K: I },
    { model, name: 'lm-head tile', M: 224, N: 4096, K: C },
  ];
}

function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

/** Call durations in seconds, accumulated over rounds. */
class Samples {
  readonly times: number[] = [];
  /** Runs f for at least ms (and 2 calls) after one untimed warm-up call. */
  run(f: () => unknown, ms: number): void {
    f();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms || n < 2) {
      const t = performance.now();
      f();
      this.times.push((performance.now() - t) / 1000);
      ++n;
    }
  }
  best(): number {
    return Math.min(...this.times);
  }
  median(): number {
    const t = [...this.times].sort((a, b) => a - b);
    return t[Math.floor(t.length / 2)]!;
  }
}

function main(): void {
  // OpenBLAS's idle worker threads spin for ~0.1 s after every call (measured: ~65 ms of CPU),
  // which would take the second core from the glam call that follows; make them sleep at once.
  // Must be set before the addon dlopens libopenblas (its first openblasSgemm call).
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  const { ops } = cpuTestHooks(); // a NativeAddonMissing error saying how to build it when absent
  const threadList = arg('threads', '1,2').split(',').map(Number);
  const minMs = Number(arg('min-ms', '600'));
  const rounds = Math.max(1, Number(arg('rounds', '3')));
  const models = arg('models', 'gpt2,h256').split(',');
  const all: Shape[] = [];
  if (models.includes('gpt2')) all.push(...shapes('gpt2-small', 768, 3072));
  if (models.includes('h256')) all.push(...shapes('hidden-256', 256, 1024));

  const haveBlas = ops.openblasSgemm('nt', new Float32Array(1), new Float32Array(1), 1, 1, 1, { threads: 1 }) !== null;
  console.log('bench/gemm: Y[M,N] = X[M,K] · W[N,K]^T (gemm_nt), fp32; GFLOP/s = 2MNK / time, best (median) call;');
  console.log(`glam and OpenBLAS alternate in ${rounds} rounds per shape (${minMs} ms each in all), so both see the same machine load`);
  if (!haveBlas) console.log('OpenBLAS: libopenblas.so.0 not found, comparison skipped (apt-get install libopenblas0 to compare)');

  for (const threads of threadList) {
    const peak = ops.cpuPeakGflops(threads);
    console.log(`\nthreads=${threads}: fp32 FMA peak measured now ${peak.toFixed(1)} GFLOP/s`);
    const header = ['model', 'shape', '[M,K]x[N,K]^T', 'glam GFLOP/s', '% peak', ...(haveBlas ? ['OpenBLAS GFLOP/s', 'glam/OpenBLAS'] : [])];
    const rows: string[][] = [header];
    for (const s of all) {
      const X = randomArray(s.M * s.K, 1 + s.K);
      const W = randomArray(s.N * s.K, 2 + s.N);
      const out = new Float32Array(s.M * s.N);
      const flops = 2 * s.M * s.N * s.K;
      const g = new Samples(), b = new Samples();
      for (let r = 0; r < rounds; ++r) {
        g.run(() => ops.gemm('nt', X, W, s.M, s.N, s.K, { threads, out }), minMs / rounds);
        if (haveBlas) b.run(() => ops.openblasSgemm('nt', X, W, s.M, s.N, s.K, { threads, out }), minMs / rounds);
      }
      const gBest = flops / g.best() / 1e9;
      const row = [s.model, s.name, `[${s.M},${s.K}]x[${s.N},${s.K}]^T`,
        `${gBest.toFixed(1)} (${(flops / g.median() / 1e9).toFixed(1)})`, `${((100 * gBest) / peak).toFixed(0)}%`];
      if (haveBlas) {
        const bBest = flops / b.best() / 1e9;
        row.push(`${bBest.toFixed(1)} (${(flops / b.median() / 1e9).toFixed(1)})`, `${(gBest / bBest).toFixed(2)}x`);
      }
      rows.push(row);
    }
    const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) console.log(r.map((v, c) => (c < 3 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  '));
  }
}

main();
