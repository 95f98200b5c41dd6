// Checkpoints: a Policy written as a directory that transformers loads (config.json, model.safetensors
// under Hugging Face's names, tokenizer files) or, for LoRA, a PEFT adapter (adapter_config.json +
// adapter_model.safetensors) that peft loads on top of the base model; plus glam's own files: the value
// head (value_head.safetensors), the optimizer state (optimizer.safetensors: AdamW moments under
// "exp_avg/<name>" and "exp_avg_sq/<name>") and glam_training.json (mode, options, step count).
// Subtle: the whole directory is written under a temporary name and renamed into place (the previous
// checkpoint, if any, is moved aside first and removed last), so a run killed mid-save leaves either
// the old checkpoint or the new one, never a mix; every file is fsynced before the rename.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { GlamError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { ModelConfig } from '../io/model-config.js';
import { readSafetensorsFile, writeSafetensors, type StoredTensor } from '../io/safetensors.js';
import { t5ConfigJson } from '../io/t5-config.js';
import { iterExpectedTensors } from '../io/weights.js';
import type { NativeModel, NativeTensorSet, NativeTrainOptions, TensorScope } from '../native/binding.js';

export const TRAINING_FILE = 'glam_training.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

export interface TrainingRecord {
  format: 'glam-training-v1';
  options: NativeTrainOptions;
  step: number;
  /** LoRA: the base model directory the adapter applies to. */
  baseModel?: string;
}

function toStored(set: NativeTensorSet, prefix = ''): Record<string, StoredTensor> {
  const out: Record<string, StoredTensor> = {};
  for (const [name, t] of Object.entries(set)) {
    out[prefix + name] = { dtype: 'F32', shape: t.shape, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
  }
  return out;
}

function fromStored(map: Map<string, StoredTensor>, prefix: string): NativeTensorSet {
  const out: NativeTensorSet = {};
  for (const [name, t] of map) {
    if (!name.startsWith(prefix)) continue;
    if (t.dtype !== 'F32') throw new GlamError('TensorDtypeUnsupported', `${name} must be F32 in a glam checkpoint`);
    out[name.slice(prefix.length)] = { shape: t.shape, data: new Float32Array(new Uint8Array(t.data).buffer) };
  }
  return out;
}

/** PEFT's adapter_config.json for our LoRA options. */
function adapterConfig(cfg: ModelConfig, opts: NativeTrainOptions, base: string): Record<string, unknown> {
  const all = cfg.family === 'gpt2' ? ['c_attn', 'c_proj', 'c_fc']
    : cfg.family === 't5' ? ['q', 'k', 'v', 'o', ...(cfg.t5!.gatedAct ? ['wi_0', 'wi_1'] : ['wi']), 'wo']
      : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
  return {
    peft_type: 'LORA', task_type: cfg.family === 't5' ? 'SEQ_2_SEQ_LM' : 'CAUSAL_LM', base_model_name_or_path: base, r: opts.rank ?? 8, lora_alpha: opts.alpha ?? 16,
    lora_dropout: 0.0, bias: 'none', fan_in_fan_out: cfg.family === 'gpt2', target_modules: opts.targets?.length ? opts.targets : all,
    inference_mode: false, init_lora_weights: true, modules_to_save: null, use_rslora: false, use_dora: false,
  };
}

/** Writes the checkpoint directory `dir` (replacing any previous one atomically). */
/**
 * The tokenizer files of `dir`, read into memory when a policy is loaded: a checkpoint must carry them
 * even after the directory the policy came from is gone (a run prunes the checkpoint it resumed from).
 */
export function readTokenizerFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const n of TOKENIZER_FILES) if (existsSync(join(dir, n))) files.set(n, readFileSync(join(dir, n)));
  return files;
}

export function saveCheckpoint(dir: string, model: NativeModel, cfg: ModelConfig, tokenizer: ReadonlyMap<string, Buffer>, training: TrainingRecord | null): void {
  const target = resolve(dir);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const lora = training?.options.mode === 'lora';
  if (lora) {
    writeFileAtomic(join(tmp, 'adapter_config.json'), JSON.stringify(adapterConfig(cfg, training!.options, training!.baseModel!), null, 2) + '\n');
    writeSafetensors(join(tmp, 'adapter_model.safetensors'), toStored(model.exportTensors('params', 'lora')), { format: 'pt' });
  } else {
    const raw = { ...cfg.raw, torch_dtype: 'float32' };
    writeFileAtomic(join(tmp, 'config.json'), cfg.family === 't5' ? t5ConfigJson(raw) : JSON.stringify(raw, null, 2) + '\n');
    writeSafetensors(join(tmp, 'model.safetensors'), toStored(model.exportTensors('params', 'model')), { format: 'pt' });
  }
  for (const [name, data] of tokenizer) writeFileSync(join(tmp, name), data);
  writeSafetensors(join(tmp, 'value_head.safetensors'), toStored(model.exportTensors('params', 'value_head')), { format: 'pt', glam: 'value_head' });
  if (training) {
    const scope: TensorScope = lora ? 'lora' : 'model';
    const opt = {
      ...toStored(model.exportTensors('exp_avg', scope), 'exp_avg/'), ...toStored(model.exportTensors('exp_avg_sq', scope), 'exp_avg_sq/'),
      ...toStored(model.exportTensors('exp_avg', 'value_head'), 'exp_avg/'), ...toStored(model.exportTensors('exp_avg_sq', 'value_head'), 'exp_avg_sq/'),
    };
    writeSafetensors(join(tmp, OPTIMIZER_FILE), opt, { format: 'glam-adamw', step: String(training.step) });
    writeFileAtomic(join(tmp, TRAINING_FILE), JSON.stringify(training, null, 2) + '\n');
  }
  const old = join(dirname(target), `.${basename(target)}.old-${process.pid}`);
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}

/** The training record of a checkpoint directory, or null. */
export function readTrainingRecord(dir: string): TrainingRecord | null {
  const f = join(dir, TRAINING_FILE);
  if (!existsSync(f)) return null;
  try {
    const r = JSON.parse(readFileSync(f, 'utf8')) as TrainingRecord;
    if (r.format !== 'glam-training-v1') throw new Error(`unknown format ${String(r.format)}`);
    return r;
  } catch (e) {
    throw new GlamError('ConfigInvalid', `${f} is not a glam training record: ${(e as Error).message}`);
  }
}

/** The base model directory of a PEFT adapter directory, or null when `dir` is not an adapter. */
export function adapterBase(dir: string): string | null {
  const f = join(dir, 'adapter_config.json');
  if (!existsSync(f)) return null;
  const c = JSON.parse(readFileSync(f, 'utf8')) as { base_model_name_or_path?: string };
  if (!c.base_model_name_or_path) throw new GlamError('ConfigInvalid', `${f} names no base_model_name_or_path`);
  return resolve(dir, c.base_model_name_or_path);
}

/** Restores adapters (LoRA dirs) and the optimizer state of a checkpoint into a model with training enabled. */
export function restoreTraining(dir: string, model: NativeModel, cfg: ModelConfig, rec: TrainingRecord): void {
  const lora = rec.options.mode === 'lora';
  if (lora) model.importTensors('params', 'lora', fromStored(readSafetensorsFile(join(dir, 'adapter_model.safetensors')), ''));
  const opt = readSafetensorsFile(join(dir, OPTIMIZER_FILE));
  for (const what of ['exp_avg', 'exp_avg_sq'] as const) {
    const set = fromStored(opt, `${what}/`);
    const vh: NativeTensorSet = {};
    const rest: NativeTensorSet = {};
    for (const [n, t] of Object.entries(set)) (n.startsWith('value_head.') ? vh : rest)[n] = t;
    if (!lora && cfg.family !== 't5') {
      // frozen parameters have no moments: the native side needs every tensor, so zeros fill in
      // (T5's engine reads only the tensors that train)
      for (const e of iterExpectedTensors(cfg)) {
        if (!rest[e.name]) rest[e.name] = { shape: e.shape, data: new Float32Array(e.shape.reduce((a, b) => a * b, 1)) };
      }
    }
    model.importTensors(what, lora ? 'lora' : 'model', rest);
    model.importTensors(what, 'value_head', vh);
  }
  model.trainInfo(rec.step);
}
