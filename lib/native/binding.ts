// The one gateway to native code: loads the .node addon and declares its whole interface.
// native/napi/addon.cpp and native/napi/model_wrap.cpp match this file one to one.
// Subtle: the addon is found relative to the package root (util/package-root.ts), so it loads
// the same from lib/ (tests run the TypeScript) and from dist/lib/ (the built package).
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
  info(): { threads: number; backend: string };
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
}

let cached: NativeAddon | undefined;

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
