// The one gateway to native code: loads the .node addons (requireAddon: nothing else requires a
// .node file) and declares the production addons' whole interface. native/napi/addon.cpp and
// native/napi/model_wrap.cpp (CPU), native/napi_cuda/* (CUDA) match this file one to one; the test
// addons' hooks (per-kernel parity, OpenBLAS, plan) are declared in test-hooks.ts, never here.
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
  topIds?: Int32Array; // (sum A, topN) with topN > 0: each target token's best alternatives, best first
  topLogprobs?: Float32Array; // (sum A, topN) their log-probs
}

export interface NativeValueHead {
  sizes: number[]; // C, hidden..., 1
  weights: Float32Array[]; // layer i: (sizes[i+1], sizes[i])
  biases: Float32Array[]; // layer i: (sizes[i+1])
}

/** Training setup (native/model/trainable_set.h TrainOptions). */
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
  score(batch: NativeBatch, opts: { mode: 'fused' | 'naive'; hidden: boolean; topN?: number }): Promise<NativeScore>;
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
  /**
   * Every trainable gradient as one flat buffer (into `out` when given), and its inverse (data-parallel
   * training). Both run off the JS thread: the array must not change until the promise settles.
   */
  gradients(out?: Float32Array): Promise<Float32Array>;
  setGradients(flat: Float32Array): Promise<void>;
  /** With a number, also sets the optimizer's step count (resume). */
  trainInfo(setStep?: number): { enabled: boolean; step?: number; mode?: 'full' | 'lora'; trainableParams?: number; stateBytes?: number; openHandles?: number };
}

/** A size of the config that shapes a tensor: hidden, MLP width, heads x head size, kv heads x head size, 3 x hidden. */
export type FamilyDim = 'C' | 'I' | 'HD' | 'KvD' | 'C3';

/** An architecture family as data (native/model/family.h): its ops and its Hugging Face tensor names. */
export interface NativeFamily {
  norm: 'rms' | 'layer';
  normBias: boolean;
  pos: 'rope' | 'learned';
  gatedMlp: boolean;
  embed: string;
  posEmbed: string;
  finalNorm: string;
  lmHead: string;
  layerPrefix: string; // layerPrefix + "<l>." + module
  norm1: string;
  norm2: string;
  /** The block's linears in load order; a fused matrix lists its modules in row order. */
  linears: { role: 'qkv' | 'o' | 'up' | 'down'; in: FamilyDim; conv1d: boolean; parts: { module: string; rows: FamilyDim }[] }[];
}

/** A size of T5's tensor table: vocab, d_model, heads x d_kv, d_ff, relative-attention buckets, heads. */
export type T5Dim = 'V' | 'C' | 'HD' | 'I' | 'NB' | 'H';

/** One stack of T5's tensor table: block tensor = prefix + "<l>." + part name. */
export interface NativeT5Stack {
  prefix: string;
  finalNorm: string;
  /** In load order; ff 'gated' parts exist in gated-gelu models only, 'relu' ones in ReLU models only. */
  parts: { name: string; rows: T5Dim; cols: T5Dim | null; ff: 'any' | 'gated' | 'relu' }[];
}

/** T5's Hugging Face tensor names as data (native/model/t5_weights.h t5_layout, exported by native/napi/t5_table.h). */
export interface NativeT5Table {
  embed: string;
  /** The encoder's copy of the embedding, read when a checkpoint lacks `embed`. */
  embedAlias: string;
  lmHead: string;
  /** Under block 0 of each stack only. */
  relBias: string;
  encoder: NativeT5Stack;
  decoder: NativeT5Stack;
}

export interface NativeAddon {
  backend: 'cpu';
  loadModel(config: ModelConfig, tensors: Record<string, Tensor>, opts: { threads: number }): Promise<NativeModel>;
  /** The family table the native loader reads (native/napi/family_table.h), by family name. */
  familyTable(): Record<string, NativeFamily>;
  /** T5's tensor-name table the native loader reads (native/napi/t5_table.h). */
  t5Table(): NativeT5Table;
}

/** Where the compute runs: 'auto' = CUDA when the CUDA addon is built and sees a GPU, else the CPU. */
export type Device = 'auto' | 'cpu' | 'cuda';
/** The CUDA backend's compute type: bf16 weights and GEMM inputs with fp32 accumulation (default), or fp32 throughout. */
export type Precision = 'bf16' | 'fp32';

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
}

let cached: NativeAddon | undefined;
let cudaCached: { addon?: CudaAddon; reason: string } | undefined;

/** Where the CUDA addon is built (scripts/build-native.mjs). */
export function cudaAddonPath(): string {
  return join(packageRoot(), 'build-cuda', 'Release', 'glam_cuda.node');
}

/**
 * Requires the first of `paths` that exists and loads (the one place a .node file is required);
 * otherwise why each did not ("<path>: not built" or the loader's message). Never throws.
 */
export function requireAddon<T>(paths: string[]): { addon?: T; errors: string[] } {
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) {
      errors.push(`${p}: not built`);
      continue;
    }
    try {
      return { addon: require(p) as T, errors };
    } catch (e) {
      errors.push(`${p}: ${(e as Error).message}`);
    }
  }
  return { errors };
}

/** The CUDA addon when it is built and loads (never throws); otherwise why not. */
export function cudaAddon(): { addon?: CudaAddon; reason: string } {
  if (cudaCached) return cudaCached;
  const p = cudaAddonPath();
  const { addon, errors } = requireAddon<CudaAddon>([p]);
  if (addon) cudaCached = { addon, reason: '' };
  else if (!existsSync(p)) cudaCached = { reason: `the CUDA addon is not built (${p} is missing: npm ci builds it when a CUDA toolkit's nvcc is found)` };
  else cudaCached = { reason: `the CUDA addon does not load (${errors.join('; ')})` };
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
  const { addon, errors } = requireAddon<NativeAddon>([join(root, 'build', 'Release', 'glam_cpu.node'), join(root, 'build', 'Debug', 'glam_cpu.node')]);
  if (addon) return (cached = addon);
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
