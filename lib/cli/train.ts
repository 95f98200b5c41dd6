// `glam train`: PPO (default) or behaviour cloning (--algo bc) of an LLM policy on a BabyAI-Text level,
// into a run directory (lib/ppo/run-dir.ts: config.json, metrics.jsonl, tb/, checkpoints/, final/,
// state.json, curve.svg). With no arguments: the built-in small model, preset 'small', a new directory
// under runs/; it says what it does in one line first.
//
//   glam train [--config FILE] [--level ID] [--model DIR] [--frames N] [--preset glam|small] [--lr X]
//              [--envs N] [--steps N] [--epochs N] [--minibatch N] [--lora RANK] [--seed S] [--run DIR]
//              [--checkpoint-every N] [--threads N] [--algo ppo|bc] [--demos N] [--eval-every N]
//              [--eval-episodes N] [--device cpu|cuda]
//   glam train --resume RUN_DIR [--frames N] [--threads N]
//
// Precedence: preset < --config FILE (a PpoConfig JSON, or a run's config.json) < flags.
// Output: stderr gets the start line, the progress (a cli-progress bar on a terminal: frames, frames/s,
// success rate, ETA; one line per update otherwise) and checkpoint notes; stdout gets the final line.
//
// Subtle:
// - --device cuda loads the policy on the CUDA backend (new runs and --resume alike); without a usable
//   GPU it is Policy.load's DeviceUnavailable before any run directory exists. The CUDA engine's
//   training pass is issue 7's part still in progress: on a GPU, enableTraining answers NotImplemented.
// - Ctrl-C (SIGINT) aborts an AbortSignal; the trainer polls it between updates, so the update in
//   flight finishes, a checkpoint of it is saved, the curve is written and the command exits 0 with the
//   --resume line. A second Ctrl-C exits 130 at once without saving. train() takes the signal as an
//   option, so tests stop a run without sending signals.
// - A checkpoint is saved every --checkpoint-every updates except after the last one, where final/
//   takes its place (it holds the optimizer state too, so a finished run continues with --frames).
// - --minibatch left to the preset is lowered to the batch (envs × steps) when the batch is smaller, so
//   tiny runs need no extra flag; an explicit --minibatch larger than the batch is an error.
// - BC reuses the PPO config for its optimisation: an update draws envs × steps demo transitions and
//   runs epochs × minibatches on them (lib/ppo/bc.ts); frames are demo transitions drawn.
import { readFileSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';

import { MultiBar, Presets } from 'cli-progress';
import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { defaultModelDir } from '../policy/default-model.js';
import { Policy } from '../policy/policy.js';
import type { TrainingOptions } from '../policy/training.js';
import { BC_DEFAULTS, trainBc } from '../ppo/bc.js';
import { resolvePpoConfig, type PpoConfigInput, type PpoPresetName, type ResolvedPpoConfig } from '../ppo/config.js';
import { curveFromRecords, learningCurveSvg } from '../ppo/plot-svg.js';
import { openRun, resumeRun, RUN_FORMAT, type BcSettings, type RunDir } from '../ppo/run-dir.js';
import { trainPpo } from '../ppo/trainer.js';
import { intFlag, processIO, runCommand, type CliIO } from './io.js';

export interface TrainFlags {
  config?: string;
  level?: string;
  model?: string;
  frames?: string;
  preset?: string;
  lr?: string;
  envs?: string;
  steps?: string;
  epochs?: string;
  minibatch?: string;
  lora?: string;
  seed?: string;
  run?: string;
  checkpointEvery?: string;
  threads?: string;
  resume?: string;
  algo?: string;
  device?: string;
  demos?: string;
  evalEvery?: string;
  evalEpisodes?: string;
}

/** Flag name of each TrainFlags key (for messages). */
const FLAG: Record<keyof TrainFlags, string> = {
  config: '--config', level: '--level', model: '--model', frames: '--frames', preset: '--preset', lr: '--lr', envs: '--envs', steps: '--steps',
  epochs: '--epochs', minibatch: '--minibatch', lora: '--lora', seed: '--seed', run: '--run', checkpointEvery: '--checkpoint-every',
  threads: '--threads', resume: '--resume', algo: '--algo', device: '--device', demos: '--demos', evalEvery: '--eval-every', evalEpisodes: '--eval-episodes',
};
const WITH_RESUME: readonly (keyof TrainFlags)[] = ['resume', 'frames', 'threads', 'device'];

export interface TrainOptions {
  /** Aborting it stops the run after the current update (Ctrl-C). */
  signal?: AbortSignal;
  /** A terminal to draw the progress bar on; without one, a line per update goes to io.err. */
  tty?: NodeJS.WritableStream;
  /** Called after each logged update (tests). */
  onUpdate?: (update: number) => void;
}

export interface TrainSummary {
  runDir: string;
  algo: 'ppo' | 'bc';
  /** Updates completed (in total, over all sessions). */
  update: number;
  frames: number;
  stopped: boolean;
  /** final/ when finished; the checkpoint saved on stop otherwise. */
  saved?: string;
  curve: string;
}

function floatFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new GlamError('InvalidArgument', `Expected a positive number for --${name} but received '${v}'`);
  return n;
}

function readConfigFile(file: string): PpoConfigInput {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new GlamError('ConfigMissing', `--config ${file} does not exist`);
    throw new GlamError('ConfigInvalid', `--config ${file} is not readable JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new GlamError('ConfigInvalid', `--config ${file} must hold a JSON object (PPO config fields)`);
  const obj = raw as Record<string, unknown>;
  const cfg = (obj.format === RUN_FORMAT ? obj.ppo : obj) as Record<string, unknown>;
  const { batchSize: _b, numMinibatches: _m, numUpdates: _u, ...rest } = cfg; // derived: recomputed after the flags
  return rest as PpoConfigInput;
}

function levelId(v: string): string {
  return v.startsWith('BabyAI-') ? v : `BabyAI-${v}-v0`;
}

/** The resolved config from preset < file < flags (see the file comment). */
export function trainConfig(f: TrainFlags): { cfg: ResolvedPpoConfig; preset: PpoPresetName; notes: string[] } {
  const preset = (f.preset ?? 'small') as PpoPresetName;
  if (preset !== 'glam' && preset !== 'small') throw new GlamError('InvalidArgument', `Expected glam or small for --preset but received '${f.preset}'`);
  const input: Record<string, unknown> = f.config ? { ...readConfigFile(f.config) } : {};
  const set = (k: string, v: unknown) => { if (v !== undefined) input[k] = v; };
  set('level', f.level === undefined ? undefined : levelId(f.level));
  set('totalFrames', intFlag('frames', f.frames));
  set('learningRate', floatFlag('lr', f.lr));
  set('numEnvs', intFlag('envs', f.envs));
  set('numSteps', intFlag('steps', f.steps));
  set('updateEpochs', intFlag('epochs', f.epochs));
  set('minibatchSize', intFlag('minibatch', f.minibatch));
  set('seed', intFlag('seed', f.seed, 0));
  const notes: string[] = [];
  if (input.minibatchSize === undefined) {
    const base = resolvePpoConfig({ ...input, minibatchSize: 1 }, preset);
    const mb = resolvePpoConfig({}, preset).minibatchSize;
    if (mb > base.batchSize) {
      input.minibatchSize = base.batchSize;
      notes.push(`minibatch ${base.batchSize} (the whole batch; the preset's ${mb} is larger)`);
    }
  }
  return { cfg: resolvePpoConfig(input as PpoConfigInput, preset), preset, notes };
}

// --- progress: a cli-progress bar on a terminal, plain lines otherwise
interface Progress {
  update(frames: number, info: { update: number; success?: number }): void;
  log(line: string): void;
  stop(): void;
}

function hms(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

function makeProgress(io: CliIO, tty: NodeJS.WritableStream | undefined, total: number, startFrames: number, updates: number): Progress {
  const t0 = performance.now();
  const fps = (frames: number) => (frames - startFrames) / Math.max(1e-9, (performance.now() - t0) / 1000);
  let success = '-';
  const showSuccess = (s: number | undefined) => { if (s !== undefined) success = s.toFixed(2); return success; };
  if (tty) {
    const bars = new MultiBar({
      stream: tty, format: ' {bar} {percentage}% | {value}/{total} frames | {fps} frames/s | success {success} | update {update}/{updates} | ETA {eta_formatted}',
      hideCursor: false, clearOnComplete: false, etaBuffer: 20, fps: 5, noTTYOutput: false,
    }, Presets.shades_classic);
    const bar = bars.create(total, startFrames, { fps: '-', success, update: 0, updates });
    let active = true;
    return {
      update: (frames, i) => bar.update(Math.min(frames, total), { fps: fps(frames).toFixed(0), success: showSuccess(i.success), update: i.update, updates }),
      // MultiBar prints logged lines above the bar at its next redraw, and stop() drops them: redraw now
      log: (line) => {
        if (!active) return void io.err(line.endsWith('\n') ? line : line + '\n');
        bars.log(line.endsWith('\n') ? line : line + '\n');
        bars.update();
      },
      stop: () => {
        if (active) bars.stop();
        active = false;
      },
    };
  }
  return {
    update: (frames, i) => {
      const rate = fps(frames);
      io.err(`update ${i.update}/${updates}  frames ${frames}/${total}  ${rate.toFixed(0)} frames/s  success ${showSuccess(i.success)}  ETA ${hms((total - frames) / rate)}\n`);
    },
    log: (line) => io.err(line.endsWith('\n') ? line : line + '\n'),
    stop: () => {},
  };
}

function defaultRunDir(algo: string, level: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return `runs/${algo}-${level.replace(/^BabyAI-/, '').replace(/-v0$/, '')}-${stamp}`;
}

function show(dir: string): string {
  const r = relative(process.cwd(), dir);
  return r !== '' && !r.startsWith('..') ? r : dir;
}

/** Runs `glam train` with parsed flags; see the file comment. */
export async function train(f: TrainFlags, io: CliIO, opts: TrainOptions = {}): Promise<TrainSummary> {
  if (f.device !== undefined && f.device !== 'cpu' && f.device !== 'cuda') {
    throw new GlamError('InvalidArgument', `Expected cpu or cuda for --device but received '${f.device}'`);
  }
  // 'cuda' without a usable GPU (addon not built, no device) is Policy.load's DeviceUnavailable, before any run directory is made
  const device = f.device === 'cuda' ? 'cuda' : 'cpu';
  const threads = intFlag('threads', f.threads);
  let run: RunDir;
  let policy: Policy;
  let start: number;
  let what: string;
  if (f.resume !== undefined) {
    const extra = (Object.keys(f) as (keyof TrainFlags)[]).filter((k) => f[k] !== undefined && !WITH_RESUME.includes(k));
    if (extra.length > 0) {
      throw new GlamError('InvalidArgument',
        `--resume continues a run with its own config.json; only --frames and --threads go with it, not ${extra.map((k) => FLAG[k]).join(', ')}`);
    }
    const r = resumeRun(f.resume, { totalFrames: intFlag('frames', f.frames) });
    run = r.run;
    try {
      policy = await Policy.load(r.policyDir, { threads, device, valueHidden: [...run.config.ppo.valueHidden] });
      if (!r.fromCheckpoint) policy.enableTraining(run.config.training);
    } catch (e) {
      run.close();
      throw e;
    }
    start = r.startUpdate;
    what = `resuming ${show(run.dir)} at update ${start}/${run.config.ppo.numUpdates} from ${r.fromCheckpoint ? show(r.policyDir) : 'its model (no checkpoint yet)'}`;
  } else {
    const algo = f.algo ?? 'ppo';
    if (algo !== 'ppo' && algo !== 'bc') throw new GlamError('InvalidArgument', `Expected ppo or bc for --algo but received '${f.algo}'`);
    const { cfg, preset, notes } = trainConfig(f);
    const lora = intFlag('lora', f.lora);
    const training: TrainingOptions = lora === undefined ? { mode: 'full' } : { mode: 'lora', rank: lora, alpha: 2 * lora };
    const every = intFlag('checkpoint-every', f.checkpointEvery) ?? 10;
    const bc: BcSettings | undefined = algo === 'bc'
      ? { ...BC_DEFAULTS, demoEpisodes: intFlag('demos', f.demos) ?? BC_DEFAULTS.demoEpisodes, evalEvery: intFlag('eval-every', f.evalEvery) ?? BC_DEFAULTS.evalEvery,
        evalEpisodes: intFlag('eval-episodes', f.evalEpisodes) ?? BC_DEFAULTS.evalEpisodes }
      : undefined;
    if (algo === 'ppo') {
      const bcOnly = (['demos', 'evalEvery', 'evalEpisodes'] as const).filter((k) => f[k] !== undefined);
      if (bcOnly.length > 0) throw new GlamError('InvalidArgument', `${bcOnly.map((k) => FLAG[k]).join(', ')} only apply to --algo bc`);
    }
    const builtin = f.model === undefined;
    const model = f.model ?? (await defaultModelDir());
    policy = await Policy.load(model, { threads, device, valueHidden: [...cfg.valueHidden] });
    try {
      policy.enableTraining(training);
      run = openRun(f.run ?? defaultRunDir(algo, cfg.level), { algo, model, training, checkpointEvery: every, ppo: cfg, ...(bc ? { bc } : {}) });
    } catch (e) {
      await policy.dispose();
      throw e;
    }
    start = 0;
    const modelText = builtin ? `the built-in small model (${model})` : model;
    const shape = `${cfg.numUpdates} updates of ${cfg.numEnvs} ${algo === 'bc' ? 'x' : 'envs x'} ${cfg.numSteps}${algo === 'bc' ? ' demo transitions' : ' steps'}`;
    const head = algo === 'bc' ? `behaviour cloning on ${bc!.demoEpisodes} bot episodes of ${cfg.level}` : `PPO on ${cfg.level}`;
    what = `${head} with ${modelText}, ${training.mode === 'lora' ? `LoRA rank ${lora}` : 'full fine-tuning'}, ${cfg.totalFrames} frames = ${shape}, ` +
      `preset ${preset}${f.config ? ` + ${f.config}` : ''}, lr ${cfg.learningRate}, seed ${cfg.seed}${notes.length ? `, ${notes.join(', ')}` : ''}; run dir ${show(run.dir)}`;
  }

  const cfg = run.config.ppo;
  const algo = run.config.algo;
  const every = run.config.checkpointEvery;
  const t0 = performance.now();
  io.err(`glam train: ${what}\n`);
  const progress = makeProgress(io, opts.tty, cfg.numUpdates * cfg.batchSize, start * cfg.batchSize, cfg.numUpdates);
  let frames = start * cfg.batchSize;
  let lastSuccess: number | undefined;
  const stop = () => opts.signal?.aborted === true;
  try {
    const onUpdate = async (r: { update: number; frames: number; metrics: Record<string, number | undefined> }, perf: Record<string, number>) => {
      run.logUpdate(r.update, r.frames, { ...r.metrics, ...perf });
      frames = r.frames;
      const s = r.metrics['charts/success_rate'] ?? r.metrics['eval/success_rate'];
      if (s !== undefined) lastSuccess = s;
      progress.update(r.frames, { update: r.update, success: s });
      if (r.update % every === 0 && r.update < cfg.numUpdates) {
        const dir = await run.saveCheckpoint(policy, r.update, r.frames);
        progress.log(`checkpoint ${show(dir)}`);
      }
      opts.onUpdate?.(r.update);
    };
    let done: number;
    if (algo === 'bc') {
      done = await trainBc(policy, cfg, run.config.bc ?? BC_DEFAULTS, {
        startUpdate: start, shouldStop: stop,
        onDemos: (d) => progress.log(`demonstrations: ${d.prompts.length} decisions from ${d.successes} solved of ${d.episodes} bot episodes`),
        onUpdate: (r) => onUpdate(r, { 'perf/update_s': r.timing.update, 'perf/eval_s': r.timing.eval }),
      });
    } else {
      done = await trainPpo(policy, cfg, {
        startUpdate: start, shouldStop: stop,
        onUpdate: (r) => onUpdate(r, { 'perf/env_s': r.timing.env, 'perf/scoring_s': r.timing.scoring, 'perf/update_s': r.timing.update }),
      });
    }
    const stopped = done < cfg.numUpdates;
    let saved: string | undefined;
    if (!stopped) saved = await run.saveFinal(policy, done, frames);
    else if (done > start) saved = run.state.checkpoint?.update === done ? resolve(run.dir, run.state.checkpoint.path) : await run.saveCheckpoint(policy, done, frames);
    progress.stop();
    const title = `${algo === 'bc' ? 'BC' : 'PPO'} on ${cfg.level}`;
    const curve = run.writeCurve(learningCurveSvg([curveFromRecords(basename(run.dir), run.records())], { title }));
    const took = hms((performance.now() - t0) / 1000);
    const succ = lastSuccess === undefined ? '' : `, success ${lastSuccess.toFixed(2)} at the last update that measured it`;
    if (stopped) {
      io.out(`glam train: stopped at update ${done}/${cfg.numUpdates} (${frames} frames) after ${took}; ` +
        `${saved ? `checkpoint ${show(saved)}` : 'nothing new to save'}; continue with: glam train --resume ${show(run.dir)}\n`);
    } else {
      io.out(`glam train: done, ${done} updates (${frames} frames) in ${took}${succ}; final policy ${show(saved!)}; curve ${show(curve)}\n`);
    }
    return { runDir: run.dir, algo, update: done, frames, stopped, ...(saved ? { saved } : {}), curve };
  } finally {
    progress.stop();
    run.close();
    await policy.dispose();
  }
}

export function registerTrainCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('train')
    .description('fine-tune an LLM policy on a BabyAI-Text level with PPO (or behaviour cloning) into a run directory')
    .option('--config <file>', "PPO config JSON (any PpoConfig fields, or a run's config.json); flags override it")
    .option('--level <id>', "BabyAI-Text level (default: the preset's; see glam env levels)")
    .option('--model <dir>', 'Hugging Face model directory (default: the built-in small model)')
    .option('--frames <n>', 'environment frames to train for (with --resume: the new total)')
    .option('--preset <name>', "defaults: 'small' (the built-in model on a CPU) or 'glam' (the paper's)", 'small')
    .option('--lr <x>', 'Adam learning rate')
    .option('--envs <n>', 'environments per rollout')
    .option('--steps <n>', 'steps per environment per rollout')
    .option('--epochs <n>', 'passes over each batch')
    .option('--minibatch <n>', 'transitions per gradient step')
    .option('--lora <rank>', 'train LoRA adapters of this rank (alpha = 2 x rank) instead of every weight')
    .option('--seed <n>', 'seed of envs, sampling and shuffling')
    .option('--run <dir>', 'run directory to create (default: runs/<algo>-<level>-<date>)')
    .option('--checkpoint-every <n>', 'save a checkpoint every n updates (default 10)')
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--resume <run_dir>', 'continue a run from its last checkpoint')
    .option('--algo <name>', "'ppo' (default) or 'bc' (behaviour cloning on the bot's demonstrations)")
    .option('--demos <n>', `bc: bot episodes to learn from (default ${BC_DEFAULTS.demoEpisodes})`)
    .option('--eval-every <n>', `bc: greedy evaluation every n updates (default ${BC_DEFAULTS.evalEvery})`)
    .option('--eval-episodes <n>', `bc: episodes per evaluation (default ${BC_DEFAULTS.evalEpisodes})`)
    .option('--device <name>', "compute device for training: 'cpu' (default) or 'cuda' (an NVIDIA GPU; DeviceUnavailable without one)")
    .action(async (f: TrainFlags, cmd: Command) => {
      // --preset has a default for --help; a run being resumed keeps its own, so drop it unless typed.
      if (cmd.getOptionValueSource('preset') === 'default') delete f.preset;
      const ac = new AbortController();
      let presses = 0;
      const onSigint = () => {
        presses += 1;
        if (presses > 1) process.exit(130);
        io.err('\nglam train: stopping after this update and saving a checkpoint (Ctrl-C again to quit without saving)\n');
        ac.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const tty = io === processIO && process.stderr.isTTY ? process.stderr : undefined;
        setExit(await runCommand(io, async () => void (await train(f, io, { signal: ac.signal, ...(tty ? { tty } : {}) }))));
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
