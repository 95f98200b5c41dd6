// The validation of what callers hand the Policy API (Policy.load's options, score / scoreTokens /
// forward requests, step's options): each bad value is an InvalidArgument GlamError that names the
// field, before anything is queued or reaches native code.
// Subtle:
// - Unknown option keys are rejected for load, step and enableTraining (a misspelt `weight_decay` would be
//   silently ignored); score requests are not checked for extra keys, since callers pass richer objects.
// - The texts of a request (strings, non-empty) are checked by lib/policy/batch.ts where they are
//   tokenized; here only the request's shape and its options.
import { GlamError } from '../errors.js';
import type { Device, NativeTrainOptions } from '../native/binding.js';
import type { LoadOptions } from './policy.js';
import type { StepOptions } from './training.js';

/** Compiles only when `Keys` lists every key of T (a new option must be added to its list here). */
type Exhaustive<T, Keys extends readonly (keyof T)[]> = [Exclude<keyof T, Keys[number]>] extends [never] ? Keys : never;
const keys = <T>() => <const K extends readonly (keyof T)[]>(k: Exhaustive<T, K>): readonly string[] => k as readonly string[];

/** InvalidArgument in the project's one format: "Expected X for NAME but received V of type T". */
export function invalid(name: string, expected: string, v: unknown): GlamError {
  const type = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  return new GlamError('InvalidArgument', `Expected ${expected} for ${name} but received ${Array.isArray(v) ? JSON.stringify(v) : String(v)} of type ${type}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An options object (or undefined → {}) whose keys are all in `known`. */
export function checkOptions(where: string, v: unknown, known: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isObject(v)) throw invalid(`the options of ${where}`, 'an object', v);
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new GlamError('InvalidArgument', `${where} has no option ${unknown.map((k) => `'${k}'`).join(', ')}; its options are ${known.join(', ')}`);
  }
  return v;
}

const LOAD_OPTIONS = keys<LoadOptions>()(['threads', 'valueHidden', 'valueSeed', 'device', 'precision']);
const STEP_OPTIONS = keys<StepOptions>()(['lr', 'betas', 'eps', 'weightDecay', 'maxGradNorm']);
const TRAINING_OPTIONS = keys<NativeTrainOptions>()(['mode', 'rank', 'alpha', 'targets', 'freezeEmbeddings', 'freezeLmHead', 'seed']);

/** Policy.load's options: known keys, and the types of those not checked elsewhere (device, precision: load-options.ts). */
export function checkLoadOptions(v: unknown): void {
  const o = checkOptions('Policy.load', v, LOAD_OPTIONS);
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || (o.threads as number) < 1 || (o.threads as number) > 256)) {
    throw new GlamError('InvalidArgument', `Expected an integer between 1 and 256 for threads but received ${String(o.threads)}`);
  }
  if (o.valueHidden !== undefined && (!Array.isArray(o.valueHidden) || !o.valueHidden.every((s) => Number.isInteger(s) && s > 0))) {
    throw invalid('valueHidden', 'an array of positive integers (hidden sizes of the value head)', o.valueHidden);
  }
  if (o.valueSeed !== undefined && !Number.isSafeInteger(o.valueSeed)) throw invalid('valueSeed', 'an integer', o.valueSeed);
}

/**
 * 'bf16' with device 'cpu' (the option or $GLAM_DEVICE) is a contradiction and refused: the CPU computes
 * in fp32. With 'auto' it is a preference for when a GPU is there; the CPU fallback says so in its note.
 */
export function checkPrecisionOn(device: Device, precision: unknown): void {
  if (device === 'cpu' && precision === 'bf16') {
    throw new GlamError('InvalidArgument',
      "precision 'bf16' applies to the CUDA backend, but device 'cpu' computes in fp32: leave precision out (or pass 'fp32'), or load with device 'cuda' or 'auto'");
  }
}

function oneOf(name: string, v: unknown, values: readonly string[]): void {
  if (v !== undefined && !values.includes(v as string)) throw invalid(name, values.map((s) => `'${s}'`).join(' or '), v);
}

/** The options shared by score(), scoreTokens() and forward(): mode, tokenization, hidden. */
function checkScoreOptions(o: Record<string, unknown>): void {
  oneOf('mode', o.mode, ['fused', 'naive']);
  oneOf('tokenization', o.tokenization, ['separate', 'joint', 'lamorel']);
  if (o.hidden !== undefined && typeof o.hidden !== 'boolean') throw invalid('hidden', 'true or false', o.hidden);
}

/** A score()/forward() request: an object with `prompts` (strings) and `candidates` (lists of strings), and valid options. */
export function checkScoreRequest(fn: string, req: unknown): void {
  if (!isObject(req)) throw invalid(`the request of ${fn}()`, 'an object {prompts, candidates}', req);
  if (!Array.isArray(req.prompts)) throw invalid('prompts', 'an array of strings (one per prompt)', req.prompts);
  if (!Array.isArray(req.candidates)) throw invalid('candidates', 'an array of arrays of strings (one list per prompt)', req.candidates);
  req.prompts.forEach((p, b) => {
    if (typeof p !== 'string') throw invalid(`prompts[${b}]`, 'a string', p);
  });
  req.candidates.forEach((cs, b) => {
    if (!Array.isArray(cs)) throw invalid(`candidates[${b}]`, 'an array of strings', cs);
    cs.forEach((c, k) => {
      if (typeof c !== 'string') throw invalid(`candidates[${b}][${k}]`, 'a string', c);
    });
  });
  checkScoreOptions(req);
}

/** forward()'s request: a score request, or {tokens} (token ids, checked when packed). */
export function checkForwardRequest(req: unknown): void {
  if (isObject(req) && 'tokens' in req) {
    if (!isObject(req.tokens)) throw invalid('tokens', 'an object {prompts, candidates} of token ids', req.tokens);
    return;
  }
  checkScoreRequest('forward', req);
}

/** The most alternatives scoreTokens' topN gives (native/model/prompt_logprobs.h kMaxTopN). */
export const MAX_TOP_N = 64;

/** scoreTokens()'s options. */
export function checkScoreTokensOptions(v: unknown): void {
  const o = checkOptions('scoreTokens', v, ['mode', 'hidden', 'topN']);
  checkScoreOptions(o);
  if (o.topN !== undefined && !(Number.isInteger(o.topN) && (o.topN as number) >= 0 && (o.topN as number) <= MAX_TOP_N)) {
    throw invalid('topN', `an integer from 0 to ${MAX_TOP_N} (alternatives per token; 0: none)`, o.topN);
  }
  if ((o.topN as number | undefined ?? 0) > 0 && o.mode === 'naive') throw invalid('topN', "0 with mode 'naive' (the fused pass computes alternatives)", o.topN);
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** step()'s options: lr >= 0, betas in [0, 1), eps > 0, weightDecay >= 0, maxGradNorm >= 0, nothing else. */
export function checkStepOptions(v: unknown): void {
  if (v === undefined) throw invalid('the options of step()', 'an object with lr', v);
  const o = checkOptions('step()', v, STEP_OPTIONS);
  if (!finite(o.lr) || o.lr < 0) throw invalid('lr', 'a finite number >= 0', o.lr);
  if (o.betas !== undefined && (!Array.isArray(o.betas) || o.betas.length !== 2 || !o.betas.every((b) => finite(b) && b >= 0 && b < 1))) {
    throw invalid('betas', 'two numbers in [0, 1)', o.betas);
  }
  if (o.eps !== undefined && (!finite(o.eps) || o.eps <= 0)) throw invalid('eps', 'a finite number > 0', o.eps);
  if (o.weightDecay !== undefined && (!finite(o.weightDecay) || o.weightDecay < 0)) throw invalid('weightDecay', 'a finite number >= 0', o.weightDecay);
  if (o.maxGradNorm !== undefined && (!finite(o.maxGradNorm) || o.maxGradNorm < 0)) {
    throw invalid('maxGradNorm', 'a finite number >= 0 (0: no clipping)', o.maxGradNorm);
  }
}

/** enableTraining()'s options: an object with known keys (their values are checked natively). */
export function checkTrainingOptions(v: unknown): void {
  checkOptions('enableTraining', v, TRAINING_OPTIONS);
}

/** save()'s directory. */
export function checkDirectory(fn: string, dir: unknown): void {
  if (typeof dir !== 'string' || dir === '') throw invalid(`the directory of ${fn}`, 'a non-empty path', dir);
}
