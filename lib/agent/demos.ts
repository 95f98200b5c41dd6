// Demonstrations for behaviour cloning: the bot plays seeded episodes and every decision becomes a
// { prompt, action } pair, the prompt being exactly what GLAM's LLM agent reads (lib/agent/prompt.ts,
// 3 observations / 2 actions of memory) and the action GLAM's name for the bot's choice; plus a
// JSON-lines writer. This is what GLAM's BotAgent logged for its BC baselines.
// Subtle points:
// - Episode e is env.reset({ seed: seed + e }): any episode can be regenerated on its own, and
//   collections with disjoint seed ranges never share an episode.
// - By default only successful episodes are kept (whole episodes are buffered, then yielded), so a
//   rare bot failure never teaches a wrong action; the generator's return value counts what was kept.
// - The memory follows GLAM's protocol: reset(obs) at the start, then per step prompt → pushAction →
//   step → pushObservation; numbering restarts at 0 in every prompt.
// - The bot only ever answers `done` (6, not one of GLAM's six actions) once its plan is empty; an
//   episode where that happens before success counts as a failure.

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { GlamError } from '../errors.js';
import { GLAM_ACTIONS } from './actions.js';
import { buildPrompt, PromptHistory, PROMPT_TEMPLATES, type PromptTemplate } from './prompt.js';
import { makeEnv } from '../env/registry.js';
import { rewriteMission, type Language, type TextStyle } from '../env/text/style.js';
import { Bot } from '../env/bot/bot.js';

export interface DemoOptions {
  /** Episodes to play (≥ 1). */
  episodes: number;
  /** Episode e is played from seed `seed + e` (default 0). */
  seed?: number;
  /** Observations in the prompt, the current one included (GLAM: 3). */
  maxObservations?: number;
  /** Past actions in the prompt (GLAM: maxObservations - 1 = 2). */
  maxActions?: number;
  /** Text language (default english); ignored when textStyle is given. */
  language?: Language;
  /** Words of the observations and goal (env/text/style.ts presets). */
  textStyle?: TextStyle;
  /** Prompt header and goal intro (default GLAM's English). */
  template?: PromptTemplate;
  /** Action names, index = MiniGrid action id (default GLAM's six). */
  actionNames?: readonly string[];
  /** Keep only episodes the bot solved (default true). */
  onlySuccessful?: boolean;
}

export interface Demo {
  /** GLAM's prompt for this decision. */
  prompt: string;
  /** GLAM's name of the bot's action, e.g. "go forward". */
  action: string;
  /** MiniGrid action id of `action`. */
  actionId: number;
  /** Episode index (0-based) and seed; step within the episode (0-based). */
  episode: number;
  seed: number;
  step: number;
}

export interface DemoSummary {
  episodes: number;
  successes: number;
  /** Demos yielded. */
  demos: number;
}

function checkCount(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new GlamError('InvalidArgument', `Expected an integer >= ${min} for ${name} but received ${String(v)} of type ${typeof v}`);
  }
  return v;
}

/** Plays `episodes` seeded episodes of `levelId` with the bot and yields one demo per decision. */
export function* collectDemos(levelId: string, opts: DemoOptions): Generator<Demo, DemoSummary, undefined> {
  if (opts === null || typeof opts !== 'object') throw new GlamError('InvalidArgument', 'Expected options { episodes, seed?, ... } for collectDemos');
  const episodes = checkCount('episodes', opts.episodes, 1);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new GlamError('InvalidArgument', `Expected an integer seed but received ${String(opts.seed)}`);
  const names = opts.actionNames ?? GLAM_ACTIONS;
  if (!Array.isArray(names) || names.length < 6) {
    throw new GlamError('InvalidArgument', 'Expected at least 6 action names (turn left … toggle, in MiniGrid id order) for actionNames');
  }
  const template = opts.template ?? PROMPT_TEMPLATES.english;
  const onlySuccessful = opts.onlySuccessful ?? true;
  const env = makeEnv(levelId, {
    seed,
    ...(opts.language === undefined ? {} : { language: opts.language }),
    ...(opts.textStyle === undefined ? {} : { textStyle: opts.textStyle }),
  });
  const history = new PromptHistory({
    ...(opts.maxObservations === undefined ? {} : { maxObservations: opts.maxObservations }),
    ...(opts.maxActions === undefined ? {} : { maxActions: opts.maxActions }),
  });
  const summary: DemoSummary = { episodes: 0, successes: 0, demos: 0 };
  const buffer: Demo[] = [];
  for (let e = 0; e < episodes; e++) {
    const epSeed = seed + e;
    const obs = env.reset({ seed: epSeed });
    const goal = rewriteMission(obs.mission, env.textStyle);
    const bot = new Bot(env);
    history.reset(obs.descriptions);
    buffer.length = 0;
    let success = false;
    for (let step = 0; ; step++) {
      const a = bot.replan();
      if (a >= 6) break; // `done`: the bot thinks it has finished but the env disagrees
      const action = names[a]!;
      const demo: Demo = { prompt: buildPrompt(goal, names, history, template), action, actionId: a, episode: e, seed: epSeed, step };
      if (onlySuccessful) buffer.push(demo);
      else {
        summary.demos++;
        yield demo;
      }
      history.pushAction(action);
      const r = env.step(a);
      if (r.terminated || r.truncated) {
        success = r.reward > 0;
        break;
      }
      history.pushObservation(r.obs.descriptions);
    }
    summary.episodes++;
    if (success) summary.successes++;
    if (onlySuccessful && success) {
      for (const d of buffer) {
        summary.demos++;
        yield d;
      }
    }
  }
  return summary;
}

/** One JSON line (no newline) of a demo: {"prompt","action","action_id","episode","seed","step"}. */
export function demoToJsonLine(d: Demo): string {
  return JSON.stringify({ prompt: d.prompt, action: d.action, action_id: d.actionId, episode: d.episode, seed: d.seed, step: d.step });
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

/**
 * Streams demos to `file` as JSON lines; the file appears complete or not at all (temp file in the
 * same directory, fsync, rename). Returns the number of lines written.
 */
export function writeDemosJsonl(file: string, demos: Iterable<Demo>): number {
  const dir = dirname(resolve(file));
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  let n = 0;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'wx', 0o644);
    let chunk = '';
    for (const d of demos) {
      chunk += demoToJsonLine(d) + '\n';
      n++;
      if (chunk.length >= 1 << 20) {
        writeAll(fd, chunk);
        chunk = '';
      }
    }
    if (chunk !== '') writeAll(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
    return n;
  } catch (err) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* already failing */ }
    }
    try { rmSync(tmp, { force: true }); } catch { /* best effort */ }
    if (err instanceof GlamError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new GlamError('IoError', `could not write demos to ${file}: ${e.code ?? ''} ${e.message}. Check that the directory exists and is writable.`, { cause: err });
  }
}
