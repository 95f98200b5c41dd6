// The training surface's types and checks: TrainHandle (single-use, owned by one Policy), options of
// enableTraining() and step(), and the validation of backward()'s gradient arrays.
// Subtle: a handle is checked on both sides of the boundary: here (owner, already used) for a clear
// message before anything is queued, and natively (the id must still be in that model's map).
import { GlamError } from '../errors.js';
import type { NativeTrainOptions } from '../native/binding.js';
import type { ScoreResult } from './score-result.js';

export type TrainingOptions = Partial<NativeTrainOptions> & { mode?: 'full' | 'lora' };

export interface StepOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this (0 or absent: no clipping). */
  maxGradNorm?: number;
}

export class TrainHandle {
  #used = false;
  constructor(readonly owner: object, readonly id: number, readonly candidates: number, readonly prompts: number) {}
  get used(): boolean {
    return this.#used;
  }
  consume(): void {
    this.#used = true;
  }
}

export interface ForwardResult extends ScoreResult {
  handle: TrainHandle;
  /** Activation bytes held in native memory until backward. */
  cacheBytes: number;
  /** Packed rows (prompt + candidate tokens) of the forward. */
  rows: number;
}

/** Validates backward()'s arguments; returns them as Float32Arrays. */
export function checkGradients(owner: object, handle: TrainHandle, dLogprobs: ArrayLike<number>, dValues: ArrayLike<number>):
  [Float32Array, Float32Array] {
  if (!(handle instanceof TrainHandle) || handle.owner !== owner) {
    throw new GlamError('HandleInvalid', 'this handle comes from another Policy (or is not a handle); pass the handle its own forward returned');
  }
  if (handle.used) throw new GlamError('HandleInvalid', 'this handle was already used by a backward; run forward({grad: true}) again');
  const dl = Float32Array.from(dLogprobs ?? []);
  const dv = Float32Array.from(dValues ?? []);
  if (dl.length !== handle.candidates || dv.length !== handle.prompts) {
    throw new GlamError('InvalidArgument',
      `backward needs ${handle.candidates} dLogprobs (one per candidate) and ${handle.prompts} dValues (one per prompt), got ${dl.length} and ${dv.length}`);
  }
  if (!dl.every(Number.isFinite) || !dv.every(Number.isFinite)) throw new GlamError('InvalidArgument', 'gradients must be finite numbers');
  return [dl, dv];
}

/** Validates gradients(out?) / setGradients(flat): a Float32Array (out may be omitted), and training enabled. */
export function checkFlatGradients(call: 'gradients' | 'setGradients', a: unknown, training: boolean): void {
  if (!(a instanceof Float32Array) && !(call === 'gradients' && a === undefined)) {
    throw new GlamError('InvalidArgument', call === 'gradients' ? 'gradients(out) takes a Float32Array (or nothing)' : 'setGradients(flat) needs a Float32Array');
  }
  if (!training) throw new GlamError('InvalidArgument', `${call}() needs training: call enableTraining() first`);
}
