// The one gateway to native code: loads the .node addons and declares their whole interface.
// native/napi/addon.cpp and native/napi/model_wrap.cpp (CPU), native/napi_cuda/* (CUDA) match this
// file one to one.
// Subtle: the addons are found relative to the package root (util/package-root.ts), so they load
// the same from lib/ (tests run the TypeScript) and from dist/lib/ (the built package). The CUDA
// addon is optional: loading it never throws here (selectBackend says why it is not used), and it
// loads on machines without a GPU or driver, where it reports 0 devices.
// Legend: T packed tokens, B prompts, N candidates, sum(A) all candidate tokens, C hidden.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { GlamError, fromNative } from '../errors.js';
import type { ModelConfig } from '../io/model-config.js';
import type { Tensor } from '../io/safetensors.js';
import { packageRoot } from '../util/package-root.js';

/** A packed batch (see native/model/packed_batch.h). */
export interface NativeBatch {
  tokens: Int32Array; // (T)
  promptStart: Int32Array; // (B) first row of each prompt
  promptLen: Int32Array; // (B)
  candStart: Int32Array; // (N) first row of each candidate
  candLen: Int32Array; // (N)
  candPrompt: Int32Array; // (N) owning prompt
}

export interface NativeScore {
  logprobs: Float32Array; // (N)
  tokenLogprobs: Float32Array; // (sum A)
  values: Float32Array; // (B)
  hidden?: Float32Array; // (B, C) final-norm hidden of each prompt's last token
}

export interface NativeValueHead {
  sizes: number[]; // C, hidden..., 1
  weights: Float32Array[]; // layer i: (sizes[i+1], sizes[i])
  biases: Float32Array[]; // layer i: (sizes[i+1])
}

/** Training setup (native/model/training.h TrainOptions). */
export interface NativeTrainOptions {
  mode: 'full' | 'lora';
  rank?: number;
  alpha?: number;
  targets?: string[];
  freezeEmbeddings?: boolean;
  freezeLmHead?: boolean;
  seed?: number;
}

export interface NativeStepOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  maxGradNorm?: number;
}

export interface NativeForwardTrain extends NativeScore {
  handle: number; // process-wide id, single use
  cacheBytes: number; // activation memory held until backward
  tokens: number; // packed rows (T)
}

/** A tensor set under Hugging Face / PEFT names: name -> (shape, fp32 values). */
export type NativeTensorSet = Record<string, { shape: number[]; data: Float32Array }>;
export type TensorWhat = 'params' | 'grads' | 'exp_avg' | 'exp_avg_sq';
export type TensorScope = 'model' | 'lora' | 'value_head';

export interface NativeModel {
  score(batch: NativeBatch, opts: { mode: 'fused' | 'naive'; hidden: boolean }): Promise<NativeScore>;
  setValueHead(head: NativeValueHead): void;
  /** CUDA models also report their device, precision, weight and workspace bytes and CUDA graphs. */
  info(): {
    threads: number; backend: string; device?: number; precision?: Precision;
    weightBytes?: number; workspaceBytes?: number; graphs?: number; graphReplays?: number;
  };
  dispose(): void;
  setTraining(opts: NativeTrainOptions): void;
  forwardTrain(batch: NativeBatch): Promise<NativeForwardTrain>;
  backward(handle: number, dLogprobs: Float32Array, dValues: Float32Array): Promise<void>;
  step(opts: NativeStepOptions): Promise<number>;
  zeroGrad(): void;
  exportTensors(what: TensorWhat, scope: TensorScope): NativeTensorSet;
  importTensors(what: Exclude<TensorWhat, 'grads'>, scope: TensorScope, tensors: NativeTensorSet): void;
  /** With a number, also sets the optimizer's step count (resume). */
  trainInfo(setStep?: number): { enabled: boolean; step?: number; mode?: 'full' | 'lora'; trainableParams?: number; stateBytes?: number; openHandles?: number };
}

export interface GemmOptions {
  bias?: Float32Array;
  threads?: number;
  reference?: boolean;
  accumulateInto?: Float32Array;
}

export interface NativeAddon {
  backend: 'cpu';
  loadModel(config: ModelConfig, tensors: Record<string, Tensor>, opts: { threads: number }): Promise<NativeModel>;
  /** Op-level test hooks (parity tests and benchmarks). */
  ops: {
    gemm(kind: 'nt' | 'nn' | 'tn', X: Float32Array, W: Float32Array, M: number, N: number, K: number, opts?: GemmOptions): Float32Array;
    openblasSgemm?: (...args: unknown[]) => Float32Array | null;
  };
  plan: PlanHooks;
}

/** Where the compute runs: 'auto' = CUDA when the CUDA addon is built and sees a GPU, else the CPU. */
export type Device = 'auto' | 'cpu' | 'cuda';
/** The CUDA backend's compute type: bf16 weights and GEMM inputs with fp32 accumulation (default), or fp32 throughout. */
export type Precision = 'bf16' | 'fp32';

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
export interface TrainShape {
  T: number; // packed tokens
  B: number; // prompts
  R: number; // scored rows
  NT: number; // target tokens
  ntiles: number; // attention tiles
  nkv: number; // attention backward dK/dV chunks
  loraRank?: number[]; // (L) sum of adapter ranks per layer; absent: no LoRA
  loraRmax?: number; // the largest single adapter rank
  valueSizes?: number[]; // value head sizes (C, hidden..., 1); absent: no head
}

/** The CUDA backend's host planning, in both addons (native/napi/plan_exports.cpp). */
export interface PlanHooks {
  workspace(config: ModelConfig, shape: WorkspaceShape, precision: Precision): { total: number; Vt: number; metaBytes: number; offsets: Record<string, number> };
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
    layers: Array<{ x1: number; x2: number; qkv: number; att: number; lse: number; up: number; loraT: number }>;
    offsets: Record<string, number>;
  };
  /** Optimizer-side bytes: fp32 gradients, AdamW moments, fp32 masters where the compute copy is bf16. */
  optimizerState(matrixParams: number, fp32Params: number, precision: Precision): { grads: number; moments: number; masters: number; total: number };
  /** The largest packed-token count (every count of the shape scaled with it) whose cache + scratch + forward workspace fit. */
  maxTrainTokens(config: ModelConfig, shape: TrainShape, precision: Precision, availableBytes: number): number;
}

/** Kernel test hooks of the CUDA addon (native/napi_cuda/cuda_ops_exports.cpp): synchronous, outputs NaN-poisoned first. */
export interface CudaOps {
  embedding(o: { ids: Int32Array; pos: Int32Array; table: Float32Array; posTable?: Float32Array; C: number; precision?: Precision }): Float32Array;
  rmsnorm(o: { x: Float32Array; y?: Float32Array; rows?: Int32Array; w: Float32Array; n: number; C: number; eps: number; precision?: Precision }): { h: Float32Array; x: Float32Array };
  layernorm(o: { x: Float32Array; y?: Float32Array; rows?: Int32Array; w: Float32Array; b: Float32Array; n: number; C: number; eps: number; precision?: Precision }): { h: Float32Array; x: Float32Array };
  rope(o: { x: Float32Array; stride: number; T: number; nheads: number; D: number; pos: Int32Array; invFreq: Float32Array }): Float32Array;
  swiglu(o: { gu: Float32Array; T: number; I: number; precision?: Precision }): Float32Array;
  gelu(o: { u: Float32Array; tanh: boolean; precision?: Precision }): Float32Array;
  attention(o: {
    qkv: Float32Array; H: number; Hkv: number; D: number; window: number; precision?: Precision;
    promptStart: Int32Array; promptLen: Int32Array; candStart: Int32Array; candLen: Int32Array; candPrompt: Int32Array;
  }): { out: Float32Array; lse: Float32Array };
  lmHead(o: { h: Float32Array; E: Float32Array; R: number; V: number; C: number; targetRow: Int32Array; targetId: Int32Array; tileWidth?: number; precision?: Precision }): { lse: Float32Array; targetLogit: Float32Array };
  valueHead(o: { h: Float32Array; B: number; sizes: number[]; weights: Float32Array[]; biases: Float32Array[] }): Float32Array;
  gemm(o: { X: Float32Array; W: Float32Array; bias?: Float32Array; M: number; N: number; K: number; precision?: Precision; accumulateInto?: Float32Array }): Float32Array;
  gemmRate(o: { M: number; N: number; K: number; precision: Precision; iters: number }): { tflops: number; ms: number };
  // backward kernels and the optimizer (native/napi_cuda/cuda_backward_exports.cpp, cuda_optimizer_exports.cpp)
  embeddingBackward(o: { dx: Float32Array; ids: Int32Array; pos: Int32Array; V: number; maxPos: number; C: number }): { dtable: Float32Array; dpos: Float32Array };
  normBackward(o: { kind: 'rms' | 'layer'; x: Float32Array; dh: Float32Array; rows?: Int32Array; w: Float32Array; n: number; C: number; eps: number }): { dx: Float32Array; dw: Float32Array; db: Float32Array };
  ropeBackward(o: { dx: Float32Array; stride: number; T: number; nheads: number; D: number; pos: Int32Array; invFreq: Float32Array }): Float32Array;
  swigluBackward(o: { dact: Float32Array; gu: Float32Array; T: number; I: number }): Float32Array;
  geluBackward(o: { dact: Float32Array; u: Float32Array; tanh: boolean }): Float32Array;
  attentionBackward(o: {
    qkv: Float32Array; dout: Float32Array; H: number; Hkv: number; D: number; window: number; precision?: Precision;
    promptStart: Int32Array; promptLen: Int32Array; candStart: Int32Array; candLen: Int32Array; candPrompt: Int32Array;
  }): Float32Array;
  lmHeadBackward(o: { h: Float32Array; E: Float32Array; R: number; V: number; C: number; targetRow: Int32Array; targetId: Int32Array; g: Float32Array; tileWidth?: number; precision?: Precision }): { dh: Float32Array; dE: Float32Array };
  valueHeadBackward(o: { h: Float32Array; B: number; sizes: number[]; weights: Float32Array[]; biases: Float32Array[]; dv: Float32Array }): { dh: Float32Array; dW: Float32Array[]; db: Float32Array[] };
  adamw(o: { w: Float32Array[]; grads: Float32Array[][]; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; maxGradNorm?: number; bf16Copy?: boolean }):
    { w: Float32Array[]; m: Float32Array[]; v: Float32Array[]; copy?: Float32Array[]; norms: number[] };
}

export interface CudaDevices {
  count: number;
  reason: string; // why count is 0
  name?: string;
  computeCapability?: string;
  memoryBytes?: number;
}

export interface CudaAddon {
  backend: 'cuda';
  deviceCount(): CudaDevices;
  loadModel(config: ModelConfig, tensors: Record<string, Tensor>, opts: { precision: Precision; device?: number }): Promise<NativeModel>;
  ops: CudaOps;
  plan: PlanHooks;
}

let cached: NativeAddon | undefined;
let cudaCached: { addon?: CudaAddon; reason: string } | undefined;

/** Where the CUDA addon is built (scripts/build-native.mjs). */
export function cudaAddonPath(): string {
  return join(packageRoot(), 'build-cuda', 'Release', 'glam_cuda.node');
}

/** The CUDA addon when it is built and loads (never throws); otherwise why not. */
export function cudaAddon(): { addon?: CudaAddon; reason: string } {
  if (cudaCached) return cudaCached;
  const p = cudaAddonPath();
  if (!existsSync(p)) {
    cudaCached = { reason: `the CUDA addon is not built (${p} is missing: npm ci builds it when a CUDA toolkit's nvcc is found)` };
    return cudaCached;
  }
  try {
    cudaCached = { addon: createRequire(import.meta.url)(p) as CudaAddon, reason: '' };
  } catch (e) {
    cudaCached = { reason: `the CUDA addon at ${p} does not load (${(e as Error).message})` };
  }
  return cudaCached;
}

export type Backend = { kind: 'cpu'; addon: NativeAddon; note?: string } | { kind: 'cuda'; addon: CudaAddon; devices: CudaDevices };

/**
 * Picks the backend for a device option. 'cpu': the CPU addon. 'cuda': the CUDA addon with at least
 * one GPU, else a DeviceUnavailable error saying what to do. 'auto': CUDA when usable, else the CPU
 * with `note` saying why (not built / does not load / no device).
 */
export function selectBackend(device: Device): Backend {
  if (device === 'cpu') return { kind: 'cpu', addon: cpuAddon() };
  const { addon, reason } = cudaAddon();
  const devices = addon ? addon.deviceCount() : undefined;
  if (addon && devices && devices.count > 0) return { kind: 'cuda', addon, devices };
  const why = addon ? `no CUDA device is visible (${devices?.reason || 'cudart reports 0 devices'})` : reason;
  if (device === 'cuda') {
    throw new GlamError(
      'DeviceUnavailable',
      `device 'cuda' was asked for but ${why}. On a machine with an NVIDIA GPU, driver and CUDA toolkit run \`npm run build:native\`; or load with device: 'auto' or 'cpu'.`,
    );
  }
  return { kind: 'cpu', addon: cpuAddon(), note: `glam: running on the CPU: ${why}.` };
}

/** Loads the CPU addon once; a missing or broken build is a NativeAddonMissing error saying how to build it. */
export function cpuAddon(): NativeAddon {
  if (cached) return cached;
  const root = packageRoot();
  const tried = [join(root, 'build', 'Release', 'glam_cpu.node'), join(root, 'build', 'Debug', 'glam_cpu.node')];
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const p of tried) {
    if (!existsSync(p)) {
      errors.push(`${p}: not built`);
      continue;
    }
    try {
      cached = require(p) as NativeAddon;
      return cached;
    } catch (e) {
      errors.push(`${p}: ${(e as Error).message}`);
    }
  }
  throw new GlamError(
    'NativeAddonMissing',
    `the glam CPU addon could not be loaded (${errors.join('; ')}). Build it with \`npm run build:native\` (needs g++ and cmake).`,
  );
}

/** Awaits a native promise, mapping its coded rejection to a GlamError. */
export async function callNative<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    throw fromNative(e);
  }
}

/** Runs a synchronous native call, mapping a thrown coded error to a GlamError. */
export function callNativeSync<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fromNative(e);
  }
}
