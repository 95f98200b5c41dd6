// A training run's directory: everything `glam train` writes, and what `--resume` reads back.
//
//   RUN/config.json                 the run: algorithm, model directory, training mode, resolved PPO config (atomic)
//   RUN/metrics.jsonl               one line per update: {"step": frames, "update": n, ...CleanRL-named metrics}
//   RUN/tb/events.out.tfevents.*    the same scalars for TensorBoard (a new file per session)
//   RUN/checkpoints/update-<n>/     Policy.save every checkpointEvery updates (and on a stop); the last 2 kept;
//                                   each a complete policy (tokenizer included) with its manifest (run-files.ts)
//   RUN/final/                      the final policy (Policy.load-able; `glam eval --policy RUN/final`), also the
//                                   checkpoint a finished run resumes from when given more frames
//   RUN/state.json                  last completed update and frames, the last checkpoint, finished (atomic)
//   RUN/curve.svg                   the learning curve (plot-svg.ts)
//
// Subtle:
// - Order makes every crash recoverable: an update's metrics line is written (fsynced) before its
//   checkpoint; a checkpoint is written complete under a temporary name and renamed into place
//   (run-files.ts), then state.json points at it, then older checkpoints are pruned.
// - Resume trusts the manifests, not state.json: it restarts from the newest complete checkpoint (or
//   final/) whose update has its metrics line, so a kill anywhere (mid-save, between a save and the
//   state write, between final/'s two renames) resumes from a complete policy. Metrics lines of later
//   updates are dropped (the file is rewritten atomically), and so are incomplete and newer checkpoint
//   directories and every temporary, so the resumed run logs each update once and leaves nothing behind.
// - Every checkpoint carries the tokenizer although a resumed policy's own directory is a checkpoint
//   that is later pruned: Policy reads its tokenizer files at load and save() writes them from memory.
// - TensorBoard files are append-only: a resumed session writes a new event file, and TensorBoard may
//   show the dropped updates' points from the older file.
// - The files' formats and readers (config.json, state.json, the checkpoint listing) are run-config.ts.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { GlamError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Policy } from '../policy/policy.js';
import type { TrainingOptions } from '../policy/training.js';
import { resolvePpoConfig } from './config.js';
import { JsonlWriter, readJsonl } from './jsonl-writer.js';
import { MANIFEST_FILE, readManifest, removeDir, saveComplete, sweepTemporaries } from './run-files.js';
import { TensorBoardWriter } from './tensorboard.js';
import { KEEP_CHECKPOINTS, listCheckpoints, readRunConfig, readRunState, RUN_FORMAT, STATE_FORMAT, type CheckpointRef, type RunConfig, type RunSpec, type RunState } from './run-config.js';

export { findRunDir, KEEP_CHECKPOINTS, listCheckpoints, readRunConfig, RUN_FORMAT, STATE_FORMAT } from './run-config.js';
export type { BcSettings, CheckpointRef, RunConfig, RunSpec, RunState } from './run-config.js';

/** An open run directory: writes metrics, checkpoints, the final policy and the curve. */
export class RunDir {
  readonly dir: string;
  #config: RunConfig;
  #state: RunState;
  readonly #metrics: JsonlWriter;
  readonly #tb: TensorBoardWriter;

  private constructor(dir: string, config: RunConfig, state: RunState) {
    this.dir = dir;
    this.#config = config;
    this.#state = state;
    this.#metrics = new JsonlWriter(this.metricsPath);
    try {
      this.#tb = new TensorBoardWriter(join(dir, 'tb'));
    } catch (e) {
      this.#metrics.close();
      throw e;
    }
  }

  get config(): RunConfig { return this.#config; }
  get state(): RunState { return this.#state; }
  get configPath(): string { return join(this.dir, 'config.json'); }
  get statePath(): string { return join(this.dir, 'state.json'); }
  get metricsPath(): string { return join(this.dir, 'metrics.jsonl'); }
  get tbDir(): string { return join(this.dir, 'tb'); }
  get tbPath(): string { return this.#tb.path; }
  get finalDir(): string { return join(this.dir, 'final'); }
  get curvePath(): string { return join(this.dir, 'curve.svg'); }
  checkpointDir(update: number): string { return join(this.dir, 'checkpoints', `update-${update}`); }

  /** @internal openRun / resumeRun. */
  static create(dir: string, config: RunConfig, state: RunState): RunDir {
    return new RunDir(dir, config, state);
  }

  /** Appends one update's metrics (JSON line + TensorBoard event) and records it in state.json. */
  logUpdate(update: number, frames: number, metrics: Readonly<Record<string, number | undefined>>): void {
    const finite: Record<string, number> = {};
    for (const [k, v] of Object.entries(metrics)) if (v !== undefined) finite[k] = v;
    this.#metrics.appendUpdate(frames, update, finite);
    const tb: Record<string, number> = {};
    for (const [k, v] of Object.entries(finite)) if (Number.isFinite(v)) tb[k] = v;
    this.#tb.addScalars(frames, tb);
    this.#writeState({ ...this.#state, update, frames });
  }

  /** Saves `policy` as checkpoints/update-<update>, points state.json at it, prunes to the last KEEP_CHECKPOINTS. */
  async saveCheckpoint(policy: Pick<Policy, 'save'>, update: number, frames: number): Promise<string> {
    const dir = this.checkpointDir(update);
    mkdirSync(join(this.dir, 'checkpoints'), { recursive: true });
    await saveComplete(policy, dir, { update, frames });
    this.#writeState({ ...this.#state, checkpoint: { update, frames, path: `checkpoints/update-${update}` } });
    this.#prune(update);
    return dir;
  }

  /**
   * Saves the final policy under final/ and marks the run finished; final/ is then also the checkpoint
   * a `--resume --frames N` with more frames continues from (it holds the optimizer state).
   */
  async saveFinal(policy: Pick<Policy, 'save'>, update: number, frames: number): Promise<string> {
    mkdirSync(join(this.dir, 'checkpoints'), { recursive: true });
    // a previous final/ (a finished run given more frames) becomes the checkpoint of its update
    await saveComplete(policy, this.finalDir, { update, frames }, (old) => this.checkpointDir(old.update));
    this.#writeState({ ...this.#state, checkpoint: { update, frames, path: 'final' }, finished: true });
    this.#prune(update);
    return this.finalDir;
  }

  /** Keeps the newest KEEP_CHECKPOINTS checkpoints (never `keep`'s) and removes every temporary. */
  #prune(keep: number): void {
    const all = listCheckpoints(this.dir);
    for (const n of all.slice(0, Math.max(0, all.length - KEEP_CHECKPOINTS))) {
      if (n !== keep) removeDir(this.checkpointDir(n));
    }
    sweepTemporaries([this.dir, join(this.dir, 'checkpoints')]);
  }

  /** The metrics records written so far. */
  records(): unknown[] {
    return existsSync(this.metricsPath) ? readJsonl(this.metricsPath) : [];
  }

  /** Writes curve.svg (atomically). */
  writeCurve(svg: string): string {
    writeFileAtomic(this.curvePath, svg);
    return this.curvePath;
  }

  /** Replaces config.json (resume with more frames). */
  updateConfig(config: RunConfig): void {
    this.#config = config;
    writeFileAtomic(this.configPath, JSON.stringify(config, null, 2) + '\n');
  }

  close(): void {
    this.#metrics.close();
    this.#tb.close();
  }

  #writeState(s: RunState): void {
    this.#state = s;
    writeFileAtomic(this.statePath, JSON.stringify(s, null, 2) + '\n');
  }
}

/** Creates a new run directory (which must be missing or empty) and writes config.json and state.json. */
export function openRun(dir: string, spec: RunSpec): RunDir {
  const abs = resolve(dir);
  if (existsSync(abs) && readdirSync(abs).length > 0) {
    const hint = existsSync(join(abs, 'config.json')) ? `it holds a run: continue it with --resume ${dir}, or` : 'it is not empty:';
    throw new GlamError('InvalidArgument', `Expected a new or empty directory for --run but ${dir} exists; ${hint} choose another --run`);
  }
  if (!Number.isSafeInteger(spec.checkpointEvery) || spec.checkpointEvery < 1) {
    throw new GlamError('InvalidArgument', `Expected a positive integer for checkpointEvery but received ${String(spec.checkpointEvery)}`);
  }
  mkdirSync(abs, { recursive: true });
  const config: RunConfig = { format: RUN_FORMAT, ...spec, model: resolve(spec.model), createdAt: new Date().toISOString() };
  writeFileAtomic(join(abs, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const state: RunState = { format: STATE_FORMAT, update: 0, frames: 0, checkpoint: null, finished: false };
  writeFileAtomic(join(abs, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  return RunDir.create(abs, config, state);
}

export interface ResumedRun {
  run: RunDir;
  /** Updates already done: training continues with update startUpdate + 1. */
  startUpdate: number;
  /** Directory to Policy.load: the last checkpoint (optimizer state included), or the run's model when none. */
  policyDir: string;
  /** True when policyDir is a checkpoint (training state restored); false: enable training afresh. */
  fromCheckpoint: boolean;
}

/**
 * Reopens a run directory at its last checkpoint (see the file comment). `totalFrames` extends (or
 * shortens) the run; a finished run can only continue with more frames than it has.
 */
export function resumeRun(dir: string, opts: { totalFrames?: number } = {}): ResumedRun {
  const abs = resolve(dir);
  let config = readRunConfig(abs);
  const state = readRunState(abs);
  if (opts.totalFrames !== undefined && opts.totalFrames !== config.ppo.totalFrames) {
    const { batchSize: _b, numMinibatches: _m, numUpdates: _u, ...rest } = config.ppo;
    config = { ...config, ppo: resolvePpoConfig({ ...rest, totalFrames: opts.totalFrames }) };
  }
  sweepTemporaries([abs, join(abs, 'checkpoints')]);
  // The newest complete checkpoint whose update has its metrics line (see the file comment).
  const metricsPath = join(abs, 'metrics.jsonl');
  const records = existsSync(metricsPath) ? readJsonl(metricsPath) : [];
  const logged = records.reduce<number>((m, r) => Math.max(m, (r as { update?: number }).update ?? 0), 0);
  const candidates: CheckpointRef[] = [];
  for (const n of listCheckpoints(abs)) {
    const m = readManifest(join(abs, 'checkpoints', `update-${n}`));
    if (m && m.update === n && n <= logged) candidates.push({ update: n, frames: m.frames, path: `checkpoints/update-${n}` });
  }
  const fm = readManifest(join(abs, 'final'));
  if (fm && fm.update <= logged) candidates.push({ update: fm.update, frames: fm.frames, path: 'final' });
  let ck: CheckpointRef | null = candidates.reduce<CheckpointRef | null>((best, c) => (best === null || c.update > best.update ? c : best), null);
  // A run written before manifests: state.json's checkpoint, if it is there.
  const old = state.checkpoint;
  if (ck === null && old && existsSync(join(abs, old.path)) && !existsSync(join(abs, old.path, MANIFEST_FILE))) ck = old;
  const startUpdate = ck?.update ?? 0;
  const finished = ck?.path === 'final';
  if (startUpdate >= config.ppo.numUpdates) {
    throw new GlamError('InvalidArgument',
      `${dir} has done ${startUpdate} of its ${config.ppo.numUpdates} updates (${config.ppo.totalFrames} frames)` +
      (finished ? '; it is finished: pass --frames N with N larger than that to train on' : ''));
  }
  // Drop what came after the checkpoint, and what is not one: later metrics lines, other checkpoint directories.
  if (existsSync(metricsPath)) {
    const keep = records.filter((r) => ((r as { update?: number }).update ?? 0) <= startUpdate);
    writeFileAtomic(metricsPath, keep.map((r) => JSON.stringify(r) + '\n').join(''));
  }
  const valid = new Set(candidates.filter((c) => c.update <= startUpdate).map((c) => c.path));
  if (ck) valid.add(ck.path);
  for (const n of listCheckpoints(abs)) {
    const p = `checkpoints/update-${n}`;
    if (!valid.has(p)) removeDir(join(abs, p));
  }
  if (!valid.has('final')) removeDir(join(abs, 'final'));
  const frames = ck?.frames ?? 0;
  const newState: RunState = { format: STATE_FORMAT, update: startUpdate, frames, checkpoint: ck, finished: false };
  writeFileAtomic(join(abs, 'state.json'), JSON.stringify(newState, null, 2) + '\n');
  const policyDir = ck ? join(abs, ck.path) : config.model;
  const run = RunDir.create(abs, config, newState);
  if (opts.totalFrames !== undefined) run.updateConfig(config);
  return { run, startUpdate, policyDir, fromCheckpoint: ck !== null };
}
