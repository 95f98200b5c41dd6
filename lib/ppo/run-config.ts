// A run directory's files as data: config.json (RunConfig) and state.json (RunState), their readers,
// the checkpoint listing, and finding the run that holds a directory. Writing them is run-dir.ts.
// Subtle: config.json's ppo section is a ResolvedPpoConfig as JSON (maxGradNorm Infinity becomes
// null); resolvePpoConfig reads it back unchanged. A config.json written before the tokenization was
// recorded (no ppo.tokenization) trained with glam's own rule, 'separate': it reads back as that, not
// as the 'glam' defaults' 'lamorel'.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { GlamError } from '../errors.js';
import type { TrainingOptions } from '../policy/training.js';
import { resolvePpoConfig, type PpoConfigInput, type ResolvedPpoConfig } from './config.js';

export const RUN_FORMAT = 'glam-run-v1';
export const STATE_FORMAT = 'glam-run-state-v1';
/** Checkpoints kept under checkpoints/ (the newest). */
export const KEEP_CHECKPOINTS = 2;

/** Behaviour cloning's own settings (the optimisation ones are the PPO config's). */
export interface BcSettings {
  /** Bot episodes whose decisions form the demonstrations. */
  readonly demoEpisodes: number;
  /** Episode e of the demonstrations is played from seed demoSeed + e. */
  readonly demoSeed: number;
  /** Greedy evaluation every evalEvery updates (and after the last). */
  readonly evalEvery: number;
  readonly evalEpisodes: number;
  /** Seed of the evaluation episodes (held out from the demonstrations' seeds). */
  readonly evalSeed: number;
}

/** config.json. */
export interface RunConfig {
  readonly format: typeof RUN_FORMAT;
  readonly algo: 'ppo' | 'bc';
  /** Model directory the run started from (absolute). */
  readonly model: string;
  /** How the policy trains: full fine-tuning or LoRA. */
  readonly training: TrainingOptions;
  /** A checkpoint every this many updates. */
  readonly checkpointEvery: number;
  readonly ppo: ResolvedPpoConfig;
  readonly bc?: BcSettings;
  /** Data-parallel learners (processes) the run trains with; --resume needs the same (absent: 1). */
  readonly learners?: number;
  readonly createdAt: string;
}

/** What openRun needs: config.json without its bookkeeping fields. */
export type RunSpec = Omit<RunConfig, 'format' | 'createdAt'>;

export interface CheckpointRef {
  readonly update: number;
  readonly frames: number;
  /** Relative to the run directory, e.g. "checkpoints/update-10". */
  readonly path: string;
}

/** state.json. */
export interface RunState {
  readonly format: typeof STATE_FORMAT;
  /** Last completed (and logged) update; frames after it. */
  readonly update: number;
  readonly frames: number;
  readonly checkpoint: CheckpointRef | null;
  readonly finished: boolean;
}

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) throw new GlamError('ConfigMissing', `${file} does not exist: not a glam run directory (${what} missing)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GlamError('ConfigInvalid', `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Reads and checks RUN/config.json (its ppo section re-resolved). */
export function readRunConfig(dir: string): RunConfig {
  const file = join(dir, 'config.json');
  const c = readJson(file, 'config.json') as Partial<RunConfig> & { ppo?: PpoConfigInput };
  if (c === null || typeof c !== 'object' || c.format !== RUN_FORMAT) {
    throw new GlamError('ConfigInvalid', `${file} is not a glam run config (format '${RUN_FORMAT}' expected)`);
  }
  if (c.algo !== 'ppo' && c.algo !== 'bc') throw new GlamError('ConfigInvalid', `${file}: algo must be 'ppo' or 'bc'`);
  if (typeof c.model !== 'string') throw new GlamError('ConfigInvalid', `${file}: model must be a directory path`);
  let ppo: ResolvedPpoConfig;
  try {
    ppo = resolvePpoConfig({ tokenization: 'separate', ...c.ppo });
  } catch (e) {
    throw new GlamError('ConfigInvalid', `${file}: ${(e as Error).message}`);
  }
  const learners = c.learners ?? 1;
  if (!Number.isSafeInteger(learners) || learners < 1) throw new GlamError('ConfigInvalid', `${file}: learners must be a positive integer`);
  return { ...(c as RunConfig), ppo, checkpointEvery: c.checkpointEvery ?? 10, training: c.training ?? { mode: 'full' }, learners };
}

export function readRunState(dir: string): RunState {
  const file = join(dir, 'state.json');
  const s = readJson(file, 'state.json') as Partial<RunState>;
  if (s === null || typeof s !== 'object' || s.format !== STATE_FORMAT || !Number.isSafeInteger(s.update) || !Number.isSafeInteger(s.frames)) {
    throw new GlamError('ConfigInvalid', `${file} is not a glam run state (format '${STATE_FORMAT}' expected)`);
  }
  return s as RunState;
}

const CKPT = /^update-(\d+)$/;

/** Update numbers of the checkpoints under RUN/checkpoints, ascending. */
export function listCheckpoints(dir: string): number[] {
  const root = join(dir, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((n) => CKPT.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The run directory holding `dir` (a run, its final/ or one of its checkpoints), or null. */
export function findRunDir(dir: string): string | null {
  const abs = resolve(dir);
  for (const cand of [abs, resolve(abs, '..'), resolve(abs, '..', '..')]) {
    const f = join(cand, 'config.json');
    if (!existsSync(f)) continue;
    try {
      if ((JSON.parse(readFileSync(f, 'utf8')) as { format?: string }).format === RUN_FORMAT) return cand;
    } catch {
      /* a model's config.json */
    }
  }
  return null;
}
