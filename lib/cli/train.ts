// `glam train`: PPO (default) or behaviour cloning (--algo bc) of an LLM policy on a BabyAI-Text level,
// into a run directory (lib/ppo/run-dir.ts: config.json, metrics.jsonl, tb/, checkpoints/, final/,
// state.json, curve.svg). With no arguments: the built-in small model, preset 'small', a new directory
// under runs/; it says what it does in one line first.
//
//   glam train [--config FILE] [--level ID] [--model DIR] [--frames N] [--preset glam|small|pretrained] [--lr X]
//              [--envs N] [--steps N] [--epochs N] [--minibatch N] [--lora RANK | --full] [--target-kl X] [--seed S] [--run DIR]
//              [--checkpoint-every N] [--threads N] [--algo ppo|bc] [--demos N] [--eval-every N]
//              [--eval-episodes N] [--device cpu|cuda] [--learners N] [--tokenization lamorel|separate|joint]
//   glam train --resume RUN_DIR [--frames N] [--threads N] [--learners N] [--tokenization RULE]
//
// Precedence: preset < --config FILE (a PpoConfig JSON, or a run's config.json) < flags.
// Output: stderr gets the start line, the progress (train-progress.ts: on a terminal, bars for the run and
// for the update in flight with ETAs; otherwise one line per update and a line every 30 s within a long
// one) and checkpoint notes; stdout gets the final line.
//
// The run itself is lib/ppo/run.ts (trainRun), which code calls too; this file parses flags and prints.
// Subtle:
// - The preset, when --preset is not given, is the model's (lib/ppo/preset-choice.ts: 'pretrained' for a
//   model with its own tokenizer, with LoRA rank 8; 'small' for glam's random models), and the first line
//   says which and why. --preset, --lora RANK and --full override it.
// - SIGINT and SIGTERM (timeout, Slurm, docker stop) alike abort an AbortSignal: the trainer stops at its
//   next rollout step or minibatch, the point reached is saved once as a checkpoint, the curve is written
//   and the command exits 0 with the --resume line. A second signal exits at once (130 / 143): every
//   write of the run is atomic, so the directory stays at its last save point. train() takes the signal
//   as an option, so tests stop a run without sending signals.
// - --minibatch left to the preset is lowered to the batch (envs × steps) when the batch is smaller, so
//   tiny runs need no extra flag; an explicit --minibatch larger than the batch is an error.
// - --tokenization (the preset's by default: 'lamorel' for 'glam', GLAM's Lamorel setup) goes into
//   config.json's ppo section; --resume keeps the recorded one, and a different --tokenization there is
//   an error (lib/ppo/run.ts), not a silent switch.
// - --learners N > 1 (lib/cli/learners-launch.ts): started by hand, glam train starts N learners under
//   mpirun and waits for them; started by an MPI launcher (mpirun, srun), it is one learner of the job
//   (lib/ppo/learners.ts) and only rank 0 prints.
// - BC reuses the PPO config for its optimisation: an update draws envs × steps demo transitions and
//   runs epochs × minibatches on them (lib/ppo/bc.ts); frames are demo transitions drawn.
import { relative } from 'node:path';

import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import type { TrainingOptions } from '../policy/training.js';
import { BC_DEFAULTS } from '../ppo/bc.js';
import type { ResolvedPpoConfig } from '../ppo/config.js';
import { PRESET_TRAINING } from '../ppo/presets.js';
import type { BcSettings } from '../ppo/run-dir.js';
import { underMpi, type Learners } from '../ppo/learners.js';
import { trainRun, type NewRunSpec, type ResumeSpec, type RunEvent } from '../ppo/run.js';
import { launchLearners, learnersFlag, runLearner } from './learners-launch.js';
import { intFlag, processIO, runCommand, tokenizationFlag, type CliIO } from './io.js';
import { trainConfig } from './train-config.js';
import { makeTrainProgress, type TrainProgress } from './train-progress.js';
import { formatDuration } from './progress.js';

export { trainConfig } from './train-config.js';

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
  full?: boolean;
  targetKl?: string;
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
  learners?: string;
  tokenization?: string;
}

/** Flag name of each TrainFlags key (for messages). */
const FLAG: Record<keyof TrainFlags, string> = {
  config: '--config', level: '--level', model: '--model', frames: '--frames', preset: '--preset', lr: '--lr', envs: '--envs', steps: '--steps',
  epochs: '--epochs', minibatch: '--minibatch', lora: '--lora', full: '--full', targetKl: '--target-kl', seed: '--seed', run: '--run',
  checkpointEvery: '--checkpoint-every', threads: '--threads', resume: '--resume', algo: '--algo', device: '--device', demos: '--demos',
  evalEvery: '--eval-every', evalEpisodes: '--eval-episodes', learners: '--learners', tokenization: '--tokenization',
};
// --tokenization goes with --resume only to say what the caller expects: a conflict with config.json is an error (run.ts)
const WITH_RESUME: readonly (keyof TrainFlags)[] = ['resume', 'frames', 'threads', 'device', 'learners', 'tokenization'];
export interface TrainOptions {
  /** Aborting it stops the run at its next consistent point and saves it (Ctrl-C, SIGTERM). */
  signal?: AbortSignal;
  /** A terminal to draw the progress bars on; without one, lines go to io.err. */
  tty?: NodeJS.WritableStream;
  /** Called after each logged update (tests). */
  onUpdate?: (update: number) => void;
  /** Seconds between within-update lines when there is no terminal (default 30). */
  periodS?: number;
  /** The data-parallel group when --learners > 1 (the CLI joins the MPI job: mpiLearners). */
  learners?: Learners;
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

function show(dir: string): string {
  const r = relative(process.cwd(), dir);
  return r !== '' && !r.startsWith('..') ? r : dir;
}

/** The run to start from the flags (validated), and the words of the start line that only the flags know. */
function newRunSpec(f: TrainFlags, threads: number | undefined, device: 'cpu' | 'cuda'): { spec: NewRunSpec; words: (cfg: ResolvedPpoConfig) => string } {
  const algo = f.algo ?? 'ppo';
  if (algo !== 'ppo' && algo !== 'bc') throw new GlamError('InvalidArgument', `Expected ppo or bc for --algo but received '${f.algo}'`);
  const { cfg, preset, presetWhy, notes } = trainConfig(f);
  const lora = intFlag('lora', f.lora);
  if (lora !== undefined && f.full) throw new GlamError('InvalidArgument', '--lora and --full contradict each other: pass one');
  const training: TrainingOptions = lora !== undefined ? { mode: 'lora', rank: lora, alpha: 2 * lora } : f.full ? { mode: 'full' } : { ...PRESET_TRAINING[preset] };
  const checkpointEvery = intFlag('checkpoint-every', f.checkpointEvery) ?? 10;
  const bc: BcSettings | undefined = algo === 'bc'
    ? { ...BC_DEFAULTS, demoEpisodes: intFlag('demos', f.demos) ?? BC_DEFAULTS.demoEpisodes, evalEvery: intFlag('eval-every', f.evalEvery) ?? BC_DEFAULTS.evalEvery,
      evalEpisodes: intFlag('eval-episodes', f.evalEpisodes) ?? BC_DEFAULTS.evalEpisodes }
    : undefined;
  if (algo === 'ppo') {
    const bcOnly = (['demos', 'evalEvery', 'evalEpisodes'] as const).filter((k) => f[k] !== undefined);
    if (bcOnly.length > 0) throw new GlamError('InvalidArgument', `${bcOnly.map((k) => FLAG[k]).join(', ')} only apply to --algo bc`);
  }
  const mode = training.mode === 'lora' ? `LoRA rank ${training.rank}` : 'full fine-tuning';
  const words = (c: ResolvedPpoConfig) => `${mode}, ${c.totalFrames} frames = ${c.numUpdates} updates of ${c.numEnvs} ${algo === 'bc' ? 'x' : 'envs x'} ${c.numSteps}` +
    `${algo === 'bc' ? ' demo transitions' : ' steps'}, preset ${preset} (${presetWhy})${f.config ? ` + ${f.config}` : ''}, lr ${c.learningRate}` +
    `${c.targetKl !== null ? `, target_kl ${c.targetKl}` : ''}, seed ${c.seed}, tokenization ${c.tokenization}${notes.length ? `, ${notes.join(', ')}` : ''}`;
  return {
    spec: { config: cfg, training, algo, ...(bc ? { bc } : {}), checkpointEvery, device, ...(threads !== undefined ? { threads } : {}),
      ...(f.model !== undefined ? { model: f.model } : {}), ...(f.run !== undefined ? { run: f.run } : {}) },
    words,
  };
}

/** Runs `glam train` with parsed flags; see the file comment. */
export async function train(f: TrainFlags, io: CliIO, opts: TrainOptions = {}): Promise<TrainSummary> {
  if (f.device !== undefined && f.device !== 'cpu' && f.device !== 'cuda') {
    throw new GlamError('InvalidArgument', `Expected cpu or cuda for --device but received '${f.device}'`);
  }
  const device = f.device === 'cuda' ? 'cuda' : 'cpu';
  const threads = intFlag('threads', f.threads);
  const n = intFlag('learners', f.learners) ?? 1;
  if ((opts.learners?.size ?? 1) !== n) {
    throw new GlamError('InvalidArgument', `--learners ${n} needs a group of ${n} learners (glam train starts them under mpirun; code passes mpiLearners())`);
  }
  const learners = opts.learners ? { learners: opts.learners } : {};
  let spec: NewRunSpec | ResumeSpec;
  let words: ((cfg: ResolvedPpoConfig) => string) | undefined;
  if (f.resume !== undefined) {
    const extra = (Object.keys(f) as (keyof TrainFlags)[]).filter((k) => f[k] !== undefined && !WITH_RESUME.includes(k));
    if (extra.length > 0) {
      throw new GlamError('InvalidArgument',
        `--resume continues a run with its own config.json; only --frames and --threads go with it, not ${extra.map((k) => FLAG[k]).join(', ')}`);
    }
    const frames = intFlag('frames', f.frames);
    const tokenization = tokenizationFlag(f.tokenization);
    spec = { resume: f.resume, device, ...(threads !== undefined ? { threads } : {}), ...(frames !== undefined ? { totalFrames: frames } : {}),
      ...(tokenization ? { tokenization } : {}), ...learners };
  } else {
    ({ spec, words } = newRunSpec(f, threads, device));
    spec = { ...spec, ...learners };
  }

  const t0 = performance.now();
  let progress: TrainProgress | undefined;
  const onEvent = (e: RunEvent) => {
    if (e.kind === 'start') {
      const c = e.run.config;
      const cfg = c.ppo;
      const what = words === undefined
        ? `resuming ${show(e.run.dir)} at update ${e.startUpdate}/${cfg.numUpdates} from ${e.resumedFrom ? show(e.resumedFrom) : 'its model (no checkpoint yet)'}`
        : `${c.algo === 'bc' ? `behaviour cloning on ${c.bc!.demoEpisodes} bot episodes of ${cfg.level}` : `PPO on ${cfg.level}`} with ` +
          `${e.builtin ? `the built-in small model (${e.model})` : e.model}, ${words(cfg)}${n > 1 ? `, ${n} learners` : ''}; run dir ${show(e.run.dir)}`;
      io.err(`glam train: ${what}\n`);
      progress = makeTrainProgress(io, opts.tty, { totalFrames: cfg.numUpdates * cfg.batchSize, startFrames: e.startUpdate * cfg.batchSize, updates: cfg.numUpdates,
        batch: cfg.batchSize, ...(opts.periodS !== undefined ? { periodS: opts.periodS } : {}) });
    } else if (e.kind === 'demos') {
      progress?.log(`demonstrations: ${e.demos.prompts.length} decisions from ${e.demos.successes} solved of ${e.demos.episodes} bot episodes`);
    } else if (e.kind === 'progress') {
      progress?.step(e.progress);
    } else if (e.kind === 'update') {
      progress?.update(e.frames, { update: e.update, success: e.metrics['charts/success_rate'] ?? e.metrics['eval/success_rate'] });
      opts.onUpdate?.(e.update);
    } else {
      progress?.log(`checkpoint ${show(e.dir)}`);
    }
  };
  try {
    const r = await trainRun(spec, { ...(opts.signal ? { signal: opts.signal } : {}), onEvent });
    progress?.stop();
    const took = formatDuration((performance.now() - t0) / 1000);
    if (opts.learners && !opts.learners.isRoot) {
      // rank 0 says how it ended
    } else if (r.stopped) {
      io.out(`glam train: stopped at update ${r.update}/${r.numUpdates} (${r.frames} frames) after ${took}; ` +
        `${r.saved ? `checkpoint ${show(r.saved)}` : 'nothing new to save'}; continue with: glam train --resume ${show(r.runDir)}\n`);
    } else {
      const succ = r.lastSuccess === undefined ? '' : `, success ${r.lastSuccess.toFixed(2)} at the last update that measured it`;
      io.out(`glam train: done, ${r.update} updates (${r.frames} frames) in ${took}${succ}; final policy ${show(r.saved!)}; curve ${show(r.curve)}\n`);
    }
    return { runDir: r.runDir, algo: r.algo, update: r.update, frames: r.frames, stopped: r.stopped, ...(r.saved ? { saved: r.saved } : {}), curve: r.curve };
  } finally {
    progress?.stop();
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
    .option('--preset <name>', "defaults: 'small' (glam's random models on a CPU), 'pretrained' (a pretrained model: LoRA, lr 1e-5, target_kl) " +
      "or 'glam' (the paper's); default: chosen from the model")
    .option('--lr <x>', 'Adam learning rate')
    .option('--envs <n>', 'environments per rollout')
    .option('--steps <n>', 'steps per environment per rollout')
    .option('--epochs <n>', 'passes over each batch')
    .option('--minibatch <n>', 'transitions per gradient step')
    .option('--lora <rank>', 'train LoRA adapters of this rank (alpha = 2 x rank) instead of every weight')
    .option('--full', "train every weight (the 'pretrained' preset's default is LoRA)")
    .option('--target-kl <x>', "end an update's epochs once approx_kl exceeds this (CleanRL's target_kl)")
    .option('--seed <n>', 'seed of envs, sampling and shuffling')
    .option('--run <dir>', 'run directory to create (default: runs/<algo>-<level>-<date>)')
    .option('--checkpoint-every <n>', 'save a checkpoint every n updates (default 10)')
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--resume <run_dir>', 'continue a run from its last complete checkpoint')
    .option('--algo <name>', "'ppo' (default) or 'bc' (behaviour cloning on the bot's demonstrations)")
    .option('--demos <n>', `bc: bot episodes to learn from (default ${BC_DEFAULTS.demoEpisodes})`)
    .option('--eval-every <n>', `bc: greedy evaluation every n updates (default ${BC_DEFAULTS.evalEvery})`)
    .option('--eval-episodes <n>', `bc: episodes per evaluation (default ${BC_DEFAULTS.evalEpisodes})`)
    .option('--device <name>', "compute device for training: 'cpu' (default) or 'cuda' (an NVIDIA GPU; DeviceUnavailable without one)")
    .option('--tokenization <rule>', "how prompts become token ids: 'lamorel' (no special tokens, as Lamorel: no T5 </s>, no BOS; the 'glam' preset's), " +
      "'separate' (with the tokenizer's special tokens: the other presets') or 'joint'; with --resume it must be the run's")
    .option('--learners <n>', 'data-parallel learners (processes, MPI; one GPU each with --device cuda): started under mpirun here, or one of an mpirun / srun job')
    .action(async (f: TrainFlags) => {
      let n = 1;
      const parsed = await runCommand(io, async () => void (n = learnersFlag(f.learners)));
      if (parsed !== 0) return setExit(parsed);
      if (n > 1 && !underMpi()) {
        let code = 0;
        const r = await runCommand(io, async () => void (code = await launchLearners({ n, args: process.argv.slice(2), threads: intFlag('threads', f.threads), io })));
        return setExit(r !== 0 ? r : code);
      }
      if (n > 1) return setExit(await runLearner(n, io, f.device === 'cuda', (out, o) => train(f, out, o)));
      const stop = stopOnSignals(io, (code) => process.exit(code));
      try {
        const tty = io === processIO && process.stderr.isTTY ? process.stderr : undefined;
        setExit(await runCommand(io, async () => void (await train(f, io, { signal: stop.signal, ...(tty ? { tty } : {}) }))));
      } finally {
        stop.dispose();
      }
    });
}

/**
 * SIGINT and SIGTERM: the first aborts the returned signal (the run stops at its next consistent point
 * and saves); a second calls exit(130 | 143) at once: every write of the run is atomic, so the last save point stands.
 */
export function stopOnSignals(io: CliIO, exit: (code: number) => void): { signal: AbortSignal; handle: (s: NodeJS.Signals) => void; dispose(): void } {
  const ac = new AbortController();
  const handle = (signal: NodeJS.Signals) => {
    if (ac.signal.aborted) return exit(signal === 'SIGTERM' ? 143 : 130);
    io.err(`\nglam train: ${signal}: stopping after this update and saving a checkpoint — the update ends at its next minibatch ` +
      `(a rollout in progress is dropped); a second signal quits at once without saving\n`);
    ac.abort();
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  return { signal: ac.signal, handle, dispose: () => { process.off('SIGINT', handle); process.off('SIGTERM', handle); } };
}
