// The test addons' whole interface: the hooks that tests and benchmarks call and the library never
// does — GEMM parity, the OpenBLAS comparison and the FMA peak (native/napi_test/ops_exports.cpp),
// the CUDA backend's host planning (native/napi_test/plan_exports.cpp), T5's buckets and encoder output
// (native/napi_test/t5_exports.cpp), one hook per CUDA kernel
// (native/napi_cuda_test/*). They live in glam_cpu_test.node and glam_cuda_test.node, built beside the
// production addons in a checkout (scripts/build-native.mjs), so glam_cpu.node / glam_cuda.node never
// carry them. binding.ts's requireAddon loads them.
// Subtle: every hook is synchronous and throws a GlamError (the native coded error, mapped here), so
// callers switch on `code` as with the production addons. The CUDA kernel hooks upload their inputs,
// NaN-poison every written output first and return fp32 copies.
// Legend: M, N, K GEMM sizes; T packed tokens, B prompts, R scored rows, NT targets, C hidden, V vocab.
import { join } from 'node:path';

import { GlamError } from '../errors.js';
import type { ModelConfig } from '../io/model-config.js';
import { packageRoot } from '../util/package-root.js';
import { callNativeSync, requireAddon, type NativeBatch, type Precision } from './binding.js';

export type GemmKind = 'nt' | 'nn' | 'tn';

/** nt: Y[M,N] = X[M,K]·W[N,K]^T (+ bias); nn: Y = X[M,K]·W[K,N]; tn: Y = X[K,M]^T·W[K,N]. */
export interface GemmOptions {
  bias?: Float32Array; // (N), nt only
  threads?: number; // default: all cores
  reference?: boolean; // the double-accumulating reference
  accumulateInto?: Float32Array; // Y += into it, in place; it is returned
  out?: Float32Array; // Y = into it, in place; it is returned
  ldx?: number; // leading dimensions (default: the logical widths)
  ldw?: number;
  ldy?: number;
}

/** The CPU backend's GEMM and its peers (native/napi_test/ops_exports.cpp). */
export interface CpuOps {
  gemm(kind: GemmKind, X: Float32Array, W: Float32Array, M: number, N: number, K: number, opts?: GemmOptions): Float32Array;
  /** OpenBLAS cblas_sgemm (dlopen'ed at run time); null when libopenblas.so.0 is not installed. */
  openblasSgemm(kind: GemmKind, X: Float32Array, W: Float32Array, M: number, N: number, K: number,
    opts?: Omit<GemmOptions, 'bias' | 'reference'>): Float32Array | null;
  /** The machine's attainable fp32 FMA peak now, in GFLOP/s, on `threads` threads (default: all cores). */
  cpuPeakGflops(threads?: number): number;
}

/** The CUDA pass's activation arena for one batch shape (native/cuda/workspace_plan.h). */
export interface WorkspaceShape {
  T: number; // packed tokens
  B: number; // prompts
  R: number; // scored rows
  NT: number; // target tokens
  ntiles: number; // attention tiles
  valueWidth?: number; // widest value-head layer
}

/** The GPU training pass's batch shape (native/cuda/train_plan.h): the workspace counts plus the attention backward's dK/dV chunks. */
export interface TrainShape extends Omit<WorkspaceShape, 'valueWidth'> {
  nkv: number; // attention backward dK/dV chunks
  loraRank?: number[]; // (L) sum of adapter ranks per layer; absent: no LoRA
  loraRmax?: number; // the largest single adapter rank
  valueSizes?: number[]; // value head sizes (C, hidden..., 1); absent: no head
}

/** The CUDA backend's host planning (native/napi_test/plan_exports.cpp). */
export interface PlanHooks {
  workspace(config: ModelConfig, shape: WorkspaceShape, precision: Precision): { total: number; Vt: number; metaBytes: number; offsets: Record<string, number> };
  /** Throws BatchTooLarge when the arena needs more than availableBytes. */
  checkFits(config: ModelConfig, shape: WorkspaceShape, precision: Precision, availableBytes: number): void;
  maxTokens(config: ModelConfig, shape: WorkspaceShape, precision: Precision, availableBytes: number): number;
  batch(config: ModelConfig, batch: NativeBatch): {
    T: number; B: number; N: number; R: number; NT: number; rowsPerTile: number;
    rows: Int32Array; // (R)
    trow: Int32Array; // (NT)
    tid: Int32Array; // (NT)
    tokOff: Float64Array; // (N+1)
    tiles: Int32Array; // (ntiles, 4): promptStart, first, count, nkeys
    arows: Int32Array; // (T, 3): row, nprompt, ownStart
    kvTiles: Int32Array; // (nkv, 5): promptStart, key0, nkeys, first, count — the attention backward's dK/dV chunks
    rowOff: Int32Array; // (R+1) targets of scored row r are rowTgt[rowOff[r] .. rowOff[r+1])
    rowTgt: Int32Array; // (NT) target indices grouped by scored row
    signature: Float64Array;
  };
  /** The training pass's per-handle cache (kept from forward to backward) and shared backward scratch, in bytes. */
  train(config: ModelConfig, shape: TrainShape, precision: Precision): {
    cacheTotal: number; scratchTotal: number; bytesPerToken: number; Vt: number; metaBytes: number;
  };
  /** Optimizer-side bytes: fp32 gradients, AdamW moments, fp32 masters where the compute copy is bf16. */
  optimizerState(matrixParams: number, fp32Params: number, precision: Precision): { grads: number; moments: number; masters: number; total: number };
  /** The largest packed-token count (every count of the shape scaled with it) whose cache + scratch + forward workspace fit. */
  maxTrainTokens(config: ModelConfig, shape: TrainShape, precision: Precision, availableBytes: number): number;
  /** A T5 batch's attention rows (model/t5_scorer.h plan_t5): encoder, decoder, and cross from decoder to encoder. */
  t5(config: ModelConfig, batch: NativeBatch, naive: boolean): {
    Te: number; Td: number; encPos: Int32Array; decPos: Int32Array;
    enc: PlannedRows; dec: PlannedRows; cross: AttentionLists;
  };
  /** RelBucketCuts' bucket of each relative position (what the CUDA kernels compute). */
  bucketCuts(rels: Int32Array, bidirectional: boolean, numBuckets: number, maxDistance: number): Int32Array;
}

/** The CUDA kernels' work lists (layouts as in PlanHooks.batch). */
export interface AttentionLists { tiles: Int32Array; arows: Int32Array; kvTiles: Int32Array }
/** One AttentionRows: the CPU's groups and the CUDA lists. */
export interface PlannedRows extends AttentionLists {
  groups: { start: number; prefixLen: number; candStart: Float64Array; candLen: Float64Array }[];
  rowsPerTile: number; bidirectional: boolean;
}

/** The packed layout the attention hooks take (a NativeBatch without tokens). */
export type Layout = Omit<NativeBatch, 'tokens'>;

/** One hook per CUDA kernel (native/napi_cuda_test/*). */
export interface CudaOps {
  embedding(o: { ids: Int32Array; pos: Int32Array; table: Float32Array; posTable?: Float32Array; C: number; precision?: Precision }): Float32Array;
  rmsnorm(o: { x: Float32Array; y?: Float32Array; rows?: Int32Array; w: Float32Array; n: number; C: number; eps: number; precision?: Precision }): { h: Float32Array; x: Float32Array };
  layernorm(o: { x: Float32Array; y?: Float32Array; rows?: Int32Array; w: Float32Array; b: Float32Array; n: number; C: number; eps: number; precision?: Precision }): { h: Float32Array; x: Float32Array };
  rope(o: { x: Float32Array; stride: number; T: number; nheads: number; D: number; pos: Int32Array; invFreq: Float32Array }): Float32Array;
  swiglu(o: { gu: Float32Array; T: number; I: number; precision?: Precision }): Float32Array;
  gelu(o: { u: Float32Array; tanh: boolean; precision?: Precision }): Float32Array;
  attention(o: Layout & { qkv: Float32Array; H: number; Hkv: number; D: number; window: number; precision?: Precision }): { out: Float32Array; lse: Float32Array };
  lmHead(o: { h: Float32Array; E: Float32Array; R: number; V: number; C: number; targetRow: Int32Array; targetId: Int32Array; tileWidth?: number; precision?: Precision }): { lse: Float32Array; targetLogit: Float32Array };
  valueHead(o: { h: Float32Array; B: number; sizes: number[]; weights: Float32Array[]; biases: Float32Array[] }): Float32Array;
  gemm(o: { X: Float32Array; W: Float32Array; bias?: Float32Array; M: number; N: number; K: number; precision?: Precision; accumulateInto?: Float32Array }): Float32Array;
  /** The GEMM rate of the roofline, on zeros. */
  gemmRate(o: { M: number; N: number; K: number; precision: Precision; iters: number }): { tflops: number; ms: number };
  // backwards: written outputs NaN-poisoned, accumulated ones (parameter gradients, norm dx) start at zero
  embeddingBackward(o: { dx: Float32Array; ids: Int32Array; pos: Int32Array; V: number; maxPos: number; C: number }): { dtable: Float32Array; dpos: Float32Array };
  normBackward(o: { kind: 'rms' | 'layer'; x: Float32Array; dh: Float32Array; rows?: Int32Array; w: Float32Array; n: number; C: number; eps: number }): { dx: Float32Array; dw: Float32Array; db: Float32Array };
  ropeBackward(o: { dx: Float32Array; stride: number; T: number; nheads: number; D: number; pos: Int32Array; invFreq: Float32Array }): Float32Array;
  swigluBackward(o: { dact: Float32Array; gu: Float32Array; T: number; I: number }): Float32Array;
  geluBackward(o: { dact: Float32Array; u: Float32Array; tanh: boolean }): Float32Array;
  attentionBackward(o: Layout & { qkv: Float32Array; dout: Float32Array; H: number; Hkv: number; D: number; window: number; precision?: Precision }): Float32Array;
  lmHeadBackward(o: { h: Float32Array; E: Float32Array; R: number; V: number; C: number; targetRow: Int32Array; targetId: Int32Array; g: Float32Array; tileWidth?: number; precision?: Precision }): { dh: Float32Array; dE: Float32Array };
  valueHeadBackward(o: { h: Float32Array; B: number; sizes: number[]; weights: Float32Array[]; biases: Float32Array[]; dv: Float32Array }): { dh: Float32Array; dW: Float32Array[]; db: Float32Array[] };
  // T5 (native/napi_cuda_test/cuda_t5_exports.cpp): activations, and attention through CudaBackend over plan_t5's rows
  relu(o: { u: Float32Array; precision?: Precision }): Float32Array;
  geglu(o: { u: Float32Array; T: number; I: number; precision?: Precision }): Float32Array;
  reluBackward(o: { dact: Float32Array; u: Float32Array }): Float32Array;
  gegluBackward(o: { dact: Float32Array; u: Float32Array; T: number; I: number }): Float32Array;
  t5Attention(o: { config: ModelConfig; part: 'encoder' | 'decoder' | 'cross'; naive: boolean; q: Float32Array; kv?: Float32Array;
    bias?: Float32Array; dout: Float32Array; precision?: Precision }, batch: NativeBatch):
    { out: Float32Array; lse: Float32Array; dq: Float32Array; dkv?: Float32Array; dbias?: Float32Array };
  /** The engine's AdamW over grads[step][tensor], steps t = 1..grads.length. */
  adamw(o: { w: Float32Array[]; grads: Float32Array[][]; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; maxGradNorm?: number; bf16Copy?: boolean }):
    { w: Float32Array[]; m: Float32Array[]; v: Float32Array[]; copy?: Float32Array[]; norms: number[] };
}

/** T5's internals the Policy API does not return (native/napi_test/t5_exports.cpp). */
export interface T5Hooks {
  /** ops/relative_buckets.h's bucket of each relative position (key - query). */
  buckets(rels: Int32Array, bidirectional: boolean, numBuckets: number, maxDistance: number): Int32Array;
  /** The encoder's final-normed output (P, C) for one prompt's ids; tensors as Policy.load hands them over. */
  encode(config: ModelConfig, tensors: Record<string, unknown>, ids: Int32Array): Float32Array;
}

export interface CpuTestHooks {
  ops: CpuOps;
  plan: PlanHooks;
  t5: T5Hooks;
}

export interface CudaTestHooks {
  ops: CudaOps;
}

/** The same functions, each throwing a GlamError instead of the addon's coded Error. */
function typed<T extends object>(hooks: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(hooks)) {
    out[name] = typeof f === 'function' ? (...args: unknown[]) => callNativeSync(() => f(...args)) : f;
  }
  return out as T;
}

let cpuCached: CpuTestHooks | undefined;
let cudaCached: { hooks?: CudaTestHooks; reason: string } | undefined;

/**
 * The CPU test addon's hooks (build/Release/glam_cpu_test.node, or GLAM_CPU_TEST_ADDON to compare
 * another build); a missing build is a NativeAddonMissing error saying how to build it.
 */
export function cpuTestHooks(): CpuTestHooks {
  if (cpuCached) return cpuCached;
  const root = packageRoot();
  const paths = process.env.GLAM_CPU_TEST_ADDON
    ? [process.env.GLAM_CPU_TEST_ADDON]
    : [join(root, 'build', 'Release', 'glam_cpu_test.node'), join(root, 'build', 'Debug', 'glam_cpu_test.node')];
  const { addon, errors } = requireAddon<CpuTestHooks>(paths);
  if (!addon) {
    throw new GlamError(
      'NativeAddonMissing',
      `the glam CPU test addon could not be loaded (${errors.join('; ')}). In a checkout, \`npm run build:native\` builds it (GLAM_TEST_HOOKS=1 where test/ is absent).`,
    );
  }
  return (cpuCached = { ops: typed(addon.ops), plan: typed(addon.plan), t5: typed(addon.t5) });
}

/** The CUDA test addon's hooks when it is built and loads (never throws); otherwise why not. */
export function cudaTestHooks(): { hooks?: CudaTestHooks; reason: string } {
  if (cudaCached) return cudaCached;
  const p = join(packageRoot(), 'build-cuda', 'Release', 'glam_cuda_test.node');
  const { addon, errors } = requireAddon<CudaTestHooks>([p]);
  cudaCached = addon
    ? { hooks: { ops: typed(addon.ops) }, reason: '' }
    : { reason: `the CUDA test addon is not usable (${errors.join('; ')}): npm ci builds it beside the CUDA addon in a checkout` };
  return cudaCached;
}
