// trainRun: a whole training run, the one path `glam train` and code share. It loads the policy (value
// head sized from the config), opens a new run directory or resumes one, runs PPO (trainPpo) or
// behaviour cloning (trainBc), logs every update, saves a checkpoint every checkpointEvery updates and
// the final policy after the last, and writes the learning curve. The CLI only parses flags and prints
// the events this sends.
//
//   const r = await trainRun({});                                   // = `glam train`
//   const r = await trainRun({ model: dir, config: resolvePpoConfig({ totalFrames: 10_240 }, 'pretrained') });
//   const r = await trainRun({ resume: 'runs/ppo-...' , totalFrames: 61_440 });
//
// Subtle:
// - With no config, the preset is the model's (preset-choice.ts) and so is the training mode
//   (PRESET_TRAINING: LoRA for a pretrained model); `training` overrides the mode.
// - A stop (signal aborted) is honoured between minibatches and rollout steps (trainer.ts): the policy
//   is then at a consistent point, which is saved once as a checkpoint (unless that update's checkpoint
//   exists), and the result says stopped.
// - A checkpoint is saved every checkpointEvery updates except after the last, where final/ takes its
//   place (it holds the optimizer state too, so a finished run continues with more frames).
// - 'cuda' without a usable GPU is Policy.load's DeviceUnavailable, before any run directory is made.
// - The tokenization (config.ppo.tokenization) is recorded in config.json and a resume keeps it; a
//   resume asking for another one is InvalidArgument, before any policy is loaded.
// - With learners (learners.ts) only rank 0 opens the run directory, makes the built-in model, writes
//   metrics, TensorBoard, checkpoints, final/ and the curve, and sends events; it hands the others
//   what to load (share): the model or checkpoint, the config, the update to start from — or its error,
//   which they throw too, so a bad flag fails every rank alike. config.json records "learners": N and
//   --resume needs the same N (each learner's envs and minibatch share depend on it).
import { basename, resolve } from 'node:path';

import type { DemoSet } from './bc.js';
import { BC_DEFAULTS, trainBc } from './bc.js';
import { resolvePpoConfig, type ResolvedPpoConfig } from './config.js';
import { PRESET_TRAINING, type PpoPresetName } from './presets.js';
import { curveFromRecords, learningCurveSvg } from './plot-svg.js';
import { presetForModel } from './preset-choice.js';
import { openRun, resumeRun, type BcSettings, type RunDir } from './run-dir.js';
import { SINGLE_LEARNER, type Learners } from './learners.js';
import type { RunConfig } from './run-config.js';
import { trainPpo, type UpdateProgress } from './trainer.js';
import { GlamError, type GlamErrorCode } from '../errors.js';
import { defaultModelDir } from '../policy/default-model.js';
import { Policy } from '../policy/policy.js';
import type { Tokenization } from '../policy/batch.js';
import type { TrainingOptions } from '../policy/training.js';

/** A new run. Every field is optional: `{}` is `glam train` with no flags. */
export interface NewRunSpec {
  /** Model directory (default: the built-in model). */
  model?: string;
  /** The resolved config (default: the model's preset, presetForModel). */
  config?: ResolvedPpoConfig;
  /** Full fine-tuning or LoRA (default: the preset's, PRESET_TRAINING; 'full' with an explicit config). */
  training?: TrainingOptions;
  algo?: 'ppo' | 'bc';
  bc?: BcSettings;
  /** Run directory to create (default runs/<algo>-<level>-<date>). */
  run?: string;
  /** A checkpoint every this many updates (default 10). */
  checkpointEvery?: number;
  threads?: number;
  device?: 'cpu' | 'cuda';
  /** The data-parallel group this process is a learner of (default: this process alone). */
  learners?: Learners;
}

/** Continue a run from its newest complete checkpoint; totalFrames extends it. */
export interface ResumeSpec {
  resume: string;
  totalFrames?: number;
  /** The tokenization the caller expects: it must be the one config.json recorded (InvalidArgument otherwise). */
  tokenization?: Tokenization;
  threads?: number;
  device?: 'cpu' | 'cuda';
  learners?: Learners;
}

/** What a run tells its caller, in order: start, then per update progress/update/checkpoint events. */
export type RunEvent =
  | { kind: 'start'; run: RunDir; model: string; builtin: boolean; preset?: { name: PpoPresetName; reason: string }; resumedFrom?: string | null; startUpdate: number }
  | { kind: 'demos'; demos: DemoSet }
  | { kind: 'progress'; progress: UpdateProgress }
  | { kind: 'update'; update: number; frames: number; metrics: Record<string, number | undefined> }
  | { kind: 'checkpoint'; dir: string };

export interface RunHooks {
  /** Aborting it stops the run at the next consistent point and saves it (Ctrl-C, SIGTERM). */
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
}

export interface TrainRunResult {
  runDir: string;
  algo: 'ppo' | 'bc';
  /** Updates completed (in total, over all sessions). */
  update: number;
  frames: number;
  numUpdates: number;
  stopped: boolean;
  /** final/ when finished; the checkpoint saved on stop otherwise. */
  saved?: string;
  curve: string;
  /** The last success rate logged (training episodes, or BC's greedy evaluation). */
  lastSuccess?: number;
}

function defaultRunDir(algo: string, level: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return `runs/${algo}-${level.replace(/^BabyAI-/, '').replace(/-v0$/, '')}-${stamp}`;
}

/** What rank 0 tells the other learners: the policy to load and the run, or the error it hit. */
type Handoff =
  | { ok: true; policyDir: string; enable: boolean; config: RunConfig; dir: string; startUpdate: number }
  | { ok: false; code: GlamErrorCode; message: string };

/** A learner other than rank 0: loads what rank 0 shares, writes nothing. */
async function followRun(spec: NewRunSpec | ResumeSpec, L: Learners): Promise<{ view: { dir: string; config: RunConfig }; policy: Policy; startUpdate: number }> {
  const h = await L.share<Handoff>(undefined);
  if (!h.ok) throw new GlamError(h.code, h.message);
  const policy = await Policy.load(h.policyDir, { threads: spec.threads, device: spec.device ?? 'cpu', valueHidden: [...h.config.ppo.valueHidden] });
  if (h.enable) policy.enableTraining(h.config.training);
  return { view: { dir: h.dir, config: h.config }, policy, startUpdate: h.startUpdate };
}

/** Rank 0 of several learners: opens the run as one learner does, then shares it (or its error). */
async function leadRun(spec: NewRunSpec | ResumeSpec, L: Learners): Promise<{ run: RunDir; policy: Policy; start: RunEvent & { kind: 'start' } }> {
  let opened: Awaited<ReturnType<typeof openPolicyRun>>;
  try {
    opened = await openPolicyRun(spec, L.size);
  } catch (e) {
    const g = e instanceof GlamError ? e : new GlamError('Internal', (e as Error).message);
    await L.share<Handoff>({ ok: false, code: g.code, message: g.message });
    throw e;
  }
  const { run, start } = opened;
  const fromCheckpoint = 'resume' in spec && start.resumedFrom;
  await L.share<Handoff>({ ok: true, policyDir: fromCheckpoint ? start.resumedFrom! : run.config.model, enable: !fromCheckpoint, config: run.config, dir: run.dir,
    startUpdate: start.startUpdate });
  return opened;
}

/** Opens (or resumes) the run and loads its policy; the caller disposes both. */
async function openPolicyRun(spec: NewRunSpec | ResumeSpec, learners: number): Promise<{ run: RunDir; policy: Policy; start: RunEvent & { kind: 'start' } }> {
  const device = spec.device ?? 'cpu';
  if ('resume' in spec) {
    const r = resumeRun(spec.resume, { totalFrames: spec.totalFrames });
    try {
      const recorded = r.run.config.ppo.tokenization;
      if (spec.tokenization !== undefined && spec.tokenization !== recorded) {
        throw new GlamError('InvalidArgument', `${spec.resume} was trained with tokenization '${recorded}'; a resumed run keeps it ` +
          `(its policy and rollouts were scored that way): drop --tokenization ${spec.tokenization}, or start a new run with it`);
      }
      const had = r.run.config.learners ?? 1;
      if (had !== learners) {
        throw new GlamError('InvalidArgument', `${spec.resume} was trained with ${had} learner${had > 1 ? 's' : ''}; resume it with --learners ${had} ` +
          '(each learner\'s envs and minibatch share depend on it)');
      }
      const policy = await Policy.load(r.policyDir, { threads: spec.threads, device, valueHidden: [...r.run.config.ppo.valueHidden] });
      if (!r.fromCheckpoint) policy.enableTraining(r.run.config.training);
      const model = r.run.config.model;
      return { run: r.run, policy, start: { kind: 'start', run: r.run, model, builtin: false, resumedFrom: r.fromCheckpoint ? r.policyDir : null, startUpdate: r.startUpdate } };
    } catch (e) {
      r.run.close();
      throw e;
    }
  }
  const choice = spec.config ? undefined : presetForModel(spec.model);
  const cfg = spec.config ?? resolvePpoConfig({}, choice!.preset);
  const training = spec.training ?? (choice ? PRESET_TRAINING[choice.preset] : { mode: 'full' });
  const algo = spec.algo ?? 'ppo';
  const model = spec.model ?? (await defaultModelDir());
  const policy = await Policy.load(model, { threads: spec.threads, device, valueHidden: [...cfg.valueHidden] });
  try {
    policy.enableTraining(training);
    const run = openRun(spec.run ?? defaultRunDir(algo, cfg.level), {
      algo, model, training, checkpointEvery: spec.checkpointEvery ?? 10, ppo: cfg, ...(algo === 'bc' ? { bc: spec.bc ?? BC_DEFAULTS } : {}), learners,
    });
    return { run, policy, start: { kind: 'start', run, model, builtin: spec.model === undefined, ...(choice ? { preset: { name: choice.preset, reason: choice.reason } } : {}), startUpdate: 0 } };
  } catch (e) {
    await policy.dispose();
    throw e;
  }
}

/** Runs (or resumes) a training run to its end or to a stop; see the file comment. */
export async function trainRun(spec: NewRunSpec | ResumeSpec, hooks: RunHooks = {}): Promise<TrainRunResult> {
  const L = spec.learners ?? SINGLE_LEARNER;
  if (!L.isRoot) return followerRun(spec, L, hooks);
  const { run, policy, start } = L.size === 1 ? await openPolicyRun(spec, 1) : await leadRun(spec, L);
  const emit = (e: RunEvent) => hooks.onEvent?.(e);
  const cfg = run.config.ppo;
  const algo = run.config.algo;
  const every = run.config.checkpointEvery;
  let frames = start.startUpdate * cfg.batchSize;
  let lastSuccess: number | undefined;
  const shouldStop = () => hooks.signal?.aborted === true;
  try {
    emit(start);
    const onUpdate = async (r: { update: number; frames: number; metrics: Record<string, number | undefined> }, perf: Record<string, number>) => {
      run.logUpdate(r.update, r.frames, { ...r.metrics, ...perf });
      frames = r.frames;
      const s = r.metrics['charts/success_rate'] ?? r.metrics['eval/success_rate'];
      if (s !== undefined) lastSuccess = s;
      emit({ kind: 'update', update: r.update, frames: r.frames, metrics: r.metrics });
      if (r.update % every === 0 && r.update < cfg.numUpdates && !shouldStop()) {
        emit({ kind: 'checkpoint', dir: await run.saveCheckpoint(policy, r.update, r.frames) });
      }
    };
    const onProgress = (p: UpdateProgress) => emit({ kind: 'progress', progress: p });
    const done = algo === 'bc'
      ? await trainBc(policy, cfg, run.config.bc ?? BC_DEFAULTS, {
        startUpdate: start.startUpdate, shouldStop, onProgress, onDemos: (demos) => emit({ kind: 'demos', demos }), learners: L,
        onUpdate: (r) => onUpdate(r, { 'perf/update_s': r.timing.update, 'perf/eval_s': r.timing.eval, ...commPerf(L, r) }),
      })
      : await trainPpo(policy, cfg, {
        startUpdate: start.startUpdate, shouldStop, onProgress, learners: L,
        onUpdate: (r) => onUpdate(r, { 'perf/env_s': r.timing.env, 'perf/scoring_s': r.timing.scoring, 'perf/update_s': r.timing.update, 'perf/gradient_steps': r.gradientSteps,
          ...commPerf(L, r) }),
      });
    // --- save: final/ after the last update; on a stop, the point reached (once)
    const stopped = done < cfg.numUpdates;
    let saved: string | undefined;
    if (!stopped) saved = await run.saveFinal(policy, done, frames);
    else if (done > start.startUpdate) {
      saved = run.state.checkpoint?.update === done ? resolve(run.dir, run.state.checkpoint.path) : await run.saveCheckpoint(policy, done, frames);
    }
    const title = `${algo === 'bc' ? 'BC' : 'PPO'} on ${cfg.level}`;
    const curve = run.writeCurve(learningCurveSvg([curveFromRecords(basename(run.dir), run.records())], { title }));
    return { runDir: run.dir, algo, update: done, frames, numUpdates: cfg.numUpdates, stopped, ...(saved ? { saved } : {}), curve, ...(lastSuccess !== undefined ? { lastSuccess } : {}) };
  } finally {
    run.close();
    await policy.dispose();
  }
}

/** Rank 0's all-reduce time and bytes per update, logged with several learners. */
function commPerf(L: Learners, r: { timing: { allreduce: number }; allreduceBytes: number }): Record<string, number> {
  return L.size === 1 ? {} : { 'perf/allreduce_s': r.timing.allreduce, 'perf/allreduce_bytes': r.allreduceBytes, 'perf/learners': L.size };
}

/** A learner other than rank 0: the same trainer on its share, with nothing written and no events. */
async function followerRun(spec: NewRunSpec | ResumeSpec, L: Learners, hooks: RunHooks): Promise<TrainRunResult> {
  const { view, policy, startUpdate } = await followRun(spec, L);
  try {
    const cfg = view.config.ppo;
    const shouldStop = () => hooks.signal?.aborted === true;
    let frames = startUpdate * cfg.batchSize;
    const onUpdate = (r: { frames: number }) => void (frames = r.frames);
    const done = view.config.algo === 'bc'
      ? await trainBc(policy, cfg, view.config.bc ?? BC_DEFAULTS, { startUpdate, shouldStop, learners: L, onUpdate })
      : await trainPpo(policy, cfg, { startUpdate, shouldStop, learners: L, onUpdate });
    return { runDir: view.dir, algo: view.config.algo, update: done, frames, numUpdates: cfg.numUpdates, stopped: done < cfg.numUpdates, curve: '' };
  } finally {
    await policy.dispose();
  }
}
