// Policy: the public API over the engine. Load a Hugging Face directory, score prompts' candidate
// actions (log-probs, probabilities, values), dispose. The request and result types: score-result.ts.
// Subtle: native calls are queued (one at a time per Policy) and run off the event loop; dispose()
// waits for the queue, so a score in flight finishes before memory is freed, and any call after
// dispose() throws Disposed.
// Legend: B prompts, K_b candidates of prompt b, N = sum K_b, A_k tokens of candidate k, C hidden.
// Types: Policy is AsyncDisposable (`await using`); the reference below travels into policy.d.ts so that
// consumers compiling for es2020/es2022 without @types/node know Symbol.asyncDispose (else TS2550).
/// <reference lib="esnext.disposable" preserve="true" />
import { join } from 'node:path';
import { availableParallelism } from 'node:os';

import { GlamError } from '../errors.js';
import { loadModelFiles } from '../io/model-files.js';
import type { ModelConfig } from '../io/model-config.js';
import { callNative, callNativeSync, selectBackend, type Device, type NativeBatch, type NativeModel, type NativeScore, type NativeValueHead, type Precision } from '../native/binding.js';
import { resolveDevice, resolvePrecision } from './load-options.js';
import { packBatch, tokenizeBatch, type TokenizedBatch } from './batch.js';
import { candidateSoftmax, type ScoreRequest, type ScoreResult } from './score-result.js';
import { defaultModelDir } from './default-model.js';
import { TextTokenizer } from './tokenizer.js';
import { VALUE_HEAD_FILE, createValueHead, loadValueHead } from './value-head.js';
import { adapterBase, readTokenizerFiles, readTrainingRecord, restoreTraining, saveCheckpoint, type TrainingRecord } from './checkpoint.js';
import { TrainHandle, checkFlatGradients, checkGradients, type ForwardResult, type StepOptions, type TrainingOptions } from './training.js';
import { checkDirectory, checkForwardRequest, checkLoadOptions, checkPrecisionOn, checkScoreRequest, checkScoreTokensOptions, checkStepOptions, checkTrainingOptions } from './arguments.js';
import { existsSync } from 'node:fs';

export interface LoadOptions {
  /** CPU threads for the engine (default: all available cores). */
  threads?: number;
  /** Value head hidden sizes when the directory holds no value_head.safetensors (default GLAM's [1024, 1024]). */
  valueHidden?: number[];
  /** Seed of a freshly created value head (default 0). */
  valueSeed?: number;
  /** 'auto' (default, or $GLAM_DEVICE): the GPU when the CUDA addon is built and sees one, else the CPU (one line says why). */
  device?: Device;
  /** CUDA compute type: 'bf16' (default; fp32 accumulation) or 'fp32' (parity checks). The CPU always computes in fp32. */
  precision?: Precision;
}

let fallbackNoted = false;

export class Policy {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly tokenizer: TextTokenizer;
  readonly threads: number;
  /** Where this policy computes, and in what precision ('fp32' on the CPU). */
  readonly device: 'cpu' | 'cuda';
  readonly precision: Precision;
  #native: NativeModel | null;
  #queue: Promise<unknown> = Promise.resolve();
  #training: TrainingRecord | null = null;
  #valueHeadTrained = false;
  /** The model's tokenizer files, read at load: save() writes them whatever happened to `dir` since. */
  #tokenizerFiles: ReadonlyMap<string, Buffer> = new Map();

  private constructor(dir: string, config: ModelConfig, tokenizer: TextTokenizer, native: NativeModel, threads: number,
    device: 'cpu' | 'cuda', precision: Precision) {
    this.dir = dir;
    this.device = device;
    this.precision = precision;
    this.config = config;
    this.tokenizer = tokenizer;
    this.#native = native;
    this.threads = threads;
  }

  /**
   * Loads a Hugging Face model directory (default: the built-in small model, created on first use), a
   * PEFT adapter directory (its base model, then the adapter), or a glam checkpoint, which resumes
   * training: its mode, optimizer state and step count come back.
   */
  static async load(dir?: string, opts: LoadOptions = {}): Promise<Policy> {
    checkLoadOptions(opts);
    if (dir !== undefined) checkDirectory('Policy.load', dir);
    const given = dir ?? (await defaultModelDir());
    const record = readTrainingRecord(given);
    const base = adapterBase(given);
    if (base && !record) throw new GlamError('ConfigInvalid', `${given} is a PEFT adapter without ${'glam_training.json'}; load its base model and train LoRA from there`);
    const modelDir = base ?? given;
    const threads = opts.threads ?? Math.min(availableParallelism(), 256);
    const device = resolveDevice(opts.device);
    checkPrecisionOn(device, opts.precision);
    const precision = resolvePrecision(opts.precision);
    const { config, weights } = loadModelFiles(modelDir);
    // T5 on the CUDA engine (native/cuda/cuda_t5_engine.h) is explicit (device 'cuda') until its GPU
    // acceptance tests (test/gpu/t5.test.ts) have run on a GPU: 'auto' picks the CPU for it
    const backend = selectBackend(config.family === 't5' && device === 'auto' ? 'cpu' : device);
    if (backend.kind === 'cpu' && backend.note && !fallbackNoted) {
      fallbackNoted = true;
      console.error(backend.note);
    }
    const tokenizer = TextTokenizer.load(modelDir);
    const tensors = Object.fromEntries(weights);
    const native = await callNative(() => backend.kind === 'cuda'
      ? backend.addon.loadModel(config, tensors, { precision })
      : backend.addon.loadModel(config, tensors, { threads }));
    try {
      const headFile = join(given, VALUE_HEAD_FILE);
      const head: NativeValueHead = existsSync(headFile)
        ? loadValueHead(headFile, config.hiddenSize)
        : createValueHead(config.hiddenSize, opts.valueHidden, opts.valueSeed ?? 0);
      callNativeSync(() => native.setValueHead(head));
      if (record) {
        callNativeSync(() => native.setTraining(record.options));
        callNativeSync(() => restoreTraining(given, native, config, record));
      }
    } catch (e) {
      native.dispose(); // a bad value head or checkpoint must not keep the model's memory alive
      throw e;
    }
    const policy = new Policy(modelDir, config, tokenizer, native, threads, backend.kind, backend.kind === 'cuda' ? precision : 'fp32');
    if (record) policy.#training = { ...record };
    policy.#tokenizerFiles = readTokenizerFiles(modelDir);
    policy.#valueHeadTrained = existsSync(join(given, VALUE_HEAD_FILE));
    return policy;
  }

  /** Enables training: full fine-tuning (default) or LoRA; the value head always trains. */
  enableTraining(opts: TrainingOptions = { mode: 'full' }): void {
    const native = this.#live();
    checkTrainingOptions(opts);
    const options = { mode: 'full' as const, ...opts };
    callNativeSync(() => native.setTraining(options));
    this.#training = { format: 'glam-training-v1', options, step: 0, ...(options.mode === 'lora' ? { baseModel: this.dir } : {}) };
  }

  /** Scores like score() and, with grad, keeps what backward needs in native memory behind a single-use handle. */
  async forward(req: ScoreRequest | { tokens: TokenizedBatch }, opts: { grad: true }): Promise<ForwardResult> {
    const native = this.#live();
    checkForwardRequest(req);
    if (!this.#training) throw new GlamError('InvalidArgument', 'forward({grad: true}) needs training: call enableTraining() first');
    if (opts?.grad !== true) throw new GlamError('InvalidArgument', 'forward() is the training pass: pass { grad: true } (use score() for inference)');
    const t = 'tokens' in req ? req.tokens : tokenizeBatch(this.tokenizer, req.prompts, req.candidates, req.tokenization ?? 'separate');
    return this.#enqueue(async () => {
      const batch = packBatch(t, { vocabSize: this.config.vocabSize, maxPositions: this.config.maxPositions });
      const r = await callNative(() => native.forwardTrain(batch));
      const base = this.#result(t, batch, r);
      return { ...base, handle: new TrainHandle(this, r.handle, base.logprobs.length, base.values.length), cacheBytes: r.cacheBytes, rows: r.tokens };
    });
  }

  /** Accumulates the gradients of sum(dLogprobs . logprobs) + sum(dValues . values) for that forward. */
  async backward(handle: TrainHandle, dLogprobs: ArrayLike<number>, dValues: ArrayLike<number>): Promise<void> {
    const native = this.#live();
    const [dl, dv] = checkGradients(this, handle, dLogprobs, dValues);
    handle.consume();
    await this.#enqueue(() => callNative(() => native.backward(handle.id, dl, dv)));
  }

  /** Clips by global norm, applies AdamW; returns the norm before clipping. */
  async step(opts: StepOptions): Promise<number> {
    const native = this.#live();
    checkStepOptions(opts);
    if (!this.#training) throw new GlamError('InvalidArgument', 'step() needs training: call enableTraining() first');
    const norm = await this.#enqueue(() => callNative(() => native.step({
      lr: opts.lr, beta1: opts.betas?.[0], beta2: opts.betas?.[1], eps: opts.eps, weightDecay: opts.weightDecay, maxGradNorm: opts.maxGradNorm,
    })));
    this.#training.step += 1;
    this.#valueHeadTrained = true;
    return norm;
  }

  /**
   * Every trainable gradient as ONE flat fp32 buffer (written into `out` when given: its length must be
   * trainingInfo().trainableParams), in the step's fixed order; setGradients writes such a buffer back.
   * Data-parallel training (lib/ppo/learners.ts) all-reduces it between backward and step. Both copy
   * off the event loop: do not change the array until the promise settles.
   */
  async gradients(out?: Float32Array): Promise<Float32Array> {
    const native = this.#live();
    checkFlatGradients('gradients', out, this.#training !== null);
    return this.#enqueue(() => callNative(() => native.gradients(out)));
  }

  async setGradients(flat: Float32Array): Promise<void> {
    const native = this.#live();
    checkFlatGradients('setGradients', flat, this.#training !== null);
    await this.#enqueue(() => callNative(() => native.setGradients(flat)));
  }

  /** Zeroes the accumulated gradients. */
  async zeroGrad(): Promise<void> {
    const native = this.#live();
    await this.#enqueue(async () => callNativeSync(() => native.zeroGrad()));
  }

  /** Writes a checkpoint directory (see lib/policy/checkpoint.ts); Policy.load(dir) resumes from it. */
  async save(dir: string): Promise<void> {
    const native = this.#live();
    checkDirectory('save()', dir);
    await this.#enqueue(async () => callNativeSync(() => saveCheckpoint(dir, native, this.config, this.#tokenizerFiles, this.#training)));
  }

  /** True when the value head was loaded from value_head.safetensors or trained by a step() in this process; a fresh head's values are random. */
  get valueHeadTrained(): boolean {
    return this.#valueHeadTrained;
  }

  /** Training state: mode, optimizer steps, trainable parameters, bytes held by gradients and moments. */
  trainingInfo(): ReturnType<NativeModel['trainInfo']> {
    return callNativeSync(() => this.#live().trainInfo());
  }

  /** The engine: backend, threads; on CUDA also device, precision, weight and workspace bytes, CUDA graphs. */
  engineInfo(): ReturnType<NativeModel['info']> {
    return callNativeSync(() => this.#live().info());
  }

  /** Replaces tensors by name (tests and tools: finite differences, restoring state). */
  importTensors(what: 'params' | 'exp_avg' | 'exp_avg_sq', scope: Parameters<NativeModel['importTensors']>[1], t: Parameters<NativeModel['importTensors']>[2]): void {
    callNativeSync(() => this.#live().importTensors(what, scope, t));
  }

  /** Tensors under Hugging Face / PEFT names (tests, tools). */
  exportTensors(what: Parameters<NativeModel['exportTensors']>[0], scope: Parameters<NativeModel['exportTensors']>[1]) {
    return callNativeSync(() => this.#live().exportTensors(what, scope));
  }

  /** Scores every candidate of every prompt. */
  async score(req: ScoreRequest): Promise<ScoreResult> {
    const native = this.#live();
    checkScoreRequest('score', req);
    const t = tokenizeBatch(this.tokenizer, req.prompts, req.candidates, req.tokenization ?? 'separate');
    return this.#enqueue(() => this.#scoreTokens(native, t, req.mode ?? 'fused', req.hidden ?? false));
  }

  /** Scores pre-tokenized prompts and candidates (ids as the model's tokenizer gives them). */
  async scoreTokens(t: TokenizedBatch, opts: { mode?: 'fused' | 'naive'; hidden?: boolean; topN?: number } = {}): Promise<ScoreResult> {
    const native = this.#live();
    checkScoreTokensOptions(opts);
    return this.#enqueue(() => this.#scoreTokens(native, t, opts.mode ?? 'fused', opts.hidden ?? false, opts.topN ?? 0));
  }

  /** Frees the native model once queued work is done. Later calls throw Disposed. */
  async dispose(): Promise<void> {
    const native = this.#native;
    this.#native = null;
    if (!native) return;
    await this.#queue.catch(() => undefined);
    native.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  async #scoreTokens(native: NativeModel, t: TokenizedBatch, mode: 'fused' | 'naive', hidden: boolean, topN = 0): Promise<ScoreResult> {
    const batch = packBatch(t, { vocabSize: this.config.vocabSize, maxPositions: this.config.maxPositions });
    return this.#result(t, batch, await callNative(() => native.score(batch, { mode, hidden, ...(topN > 0 ? { topN } : {}) })));
  }

  #result(t: TokenizedBatch, batch: NativeBatch, r: NativeScore): ScoreResult {
    const B = batch.promptStart.length;
    const candOffset = new Int32Array(B + 1);
    for (let b = 0; b < B; ++b) candOffset[b + 1] = candOffset[b]! + t.candidates[b]!.length;
    const tokenOffset = new Int32Array(batch.candLen.length + 1);
    for (let k = 0; k < batch.candLen.length; ++k) tokenOffset[k + 1] = tokenOffset[k]! + batch.candLen[k]!;
    return {
      candOffset, logprobs: r.logprobs, probs: candidateSoftmax(r.logprobs, candOffset), tokens: batch.candLen.slice(),
      tokenOffset, tokenLogprobs: r.tokenLogprobs, values: r.values, ...(r.hidden ? { hidden: r.hidden } : {}),
      ...(r.topIds && r.topLogprobs ? { topIds: r.topIds, topLogprobs: r.topLogprobs } : {}),
    };
  }

  #live(): NativeModel {
    if (!this.#native) throw new GlamError('Disposed', 'this Policy was disposed; load it again with Policy.load()');
    return this.#native;
  }

  #enqueue<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
