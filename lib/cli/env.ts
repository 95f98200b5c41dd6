// `glam env ...`: the BabyAI-Text environment from the command line.
//   glam env levels                                  registered level ids (one per line, with a summary)
//   glam env sample --level ID [--seed S] [--language L] [--json]   a start state, in the replay state format
//   glam env replay --state FILE --actions LIST [--json]   replays actions from a start state
//   glam env play --level ID [--seed S] [--language L]   plays with the keyboard (env-play.ts)
// Replay prints one JSON line per step with --json, the start included:
//   {"step","mission","descriptions","view","agent":{"pos","dir"},"carrying","reward","terminated","truncated"}
// with view[i][j] = [type, color, state] (i column left→right, j row far→near, agent at (3, 6)).
// Subtle: `sample` prints valid replay-state JSON in both modes (default: one grid column per line;
// --json: one line), so `glam env sample ... > s.json && glam env replay --state s.json` round-trips.
// Replay stops at the end of the episode and says so on stderr if actions are left. Bad input (unknown
// level, unreadable or malformed state, unknown action) exits 2 with one line (runCommand in io.ts).

import { readFileSync } from 'node:fs';

import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { actionFromGlamName, checkAction, GLAM_ACTION_NAMES } from '../env/actions.js';
import { listLevels, levelInfo, makeEnv } from '../env/registry.js';
import { envFromState, envToState, type EnvState } from '../env/state.js';
import type { RoomGridLevel } from '../env/levels/roomgrid-level.js';
import type { Observation } from '../env/minigrid-env.js';
import type { Language } from '../env/text/style.js';
import { drawScreen } from './env-draw.js';
import { playLoop, PLAY_HELP, type KeyInput } from './env-play.js';
import { processIO, runCommand, type CliIO } from './io.js';

/** Writers, plus what `play` reads keys from and whether pictures use ANSI colours. */
export interface EnvCliIO extends CliIO {
  stdin?: KeyInput;
  color?: boolean;
}

interface EnvFlags {
  level?: string;
  language?: string;
  seed?: string;
  json?: boolean;
  state?: string;
  actions?: string;
}

const defaultSetExit = (code: number): void => void (process.exitCode = code);

/** Adds the `env` command group to `program`. */
export function registerEnvCommands(program: Command, io: EnvCliIO = processIO, setExit: (code: number) => void = defaultSetExit): void {
  const color = io.color ?? (io === processIO && process.stdout.isTTY === true);
  const env = program.command('env').description('the BabyAI-Text environment: list levels, sample start states, replay actions, play');
  const run = (body: () => Promise<void> | void) => async () => setExit(await runCommand(io, async () => body()));

  env
    .command('levels')
    .description('list the registered level ids')
    .option('--json', 'print a JSON array of {id, name, roomSize, summary}')
    .action((f: EnvFlags) => run(() => levels(f, io))());

  env
    .command('sample')
    .description("print an episode's start state in the replay state format")
    .option('--level <id>', 'level id, e.g. BabyAI-GoToLocal-v0 (see glam env levels)')
    .option('--seed <n>', 'episode seed (default 0)')
    .option('--language <lang>', 'text language of the state: english (default) or french')
    .option('--json', 'one line of JSON (default: the same JSON, one grid column per line)')
    .action((f: EnvFlags) => run(() => sample(f, io))());

  env
    .command('replay')
    .description('replay actions from a start state, printing every step')
    .option('--state <file>', 'start state JSON (from glam env sample, or one recorded episode)')
    .option('--actions <list>', `comma-separated actions: names (${GLAM_ACTION_NAMES.join(', ')}) or MiniGrid ids 0..6`, '')
    .option('--json', 'one JSON line per step (default: a picture per step)')
    .action((f: EnvFlags) => run(() => replay(f, io, color))());

  env
    .command('play')
    .description(`play a level with the keyboard (${PLAY_HELP})`)
    .option('--level <id>', 'level id (see glam env levels)')
    .option('--seed <n>', 'seed of the first episode (default 0)')
    .option('--language <lang>', 'text language: english (default) or french')
    .action((f: EnvFlags) => run(() => play(f, io))());
}

function requireLevel(f: EnvFlags): string {
  if (f.level === undefined || f.level === '') {
    throw new GlamError('InvalidArgument', 'Missing --level; pass a level id such as BabyAI-GoToLocal-v0 (glam env levels lists them)');
  }
  levelInfo(f.level); // unknown level: InvalidArgument listing the ids
  return f.level;
}

function parseLanguage(v: string | undefined): { language?: Language } {
  if (v === undefined) return {};
  if (v !== 'english' && v !== 'french') throw new GlamError('InvalidArgument', `Expected english or french for --language but received '${v}'`);
  return { language: v };
}

function parseSeed(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n)) throw new GlamError('InvalidArgument', `Expected an integer for --seed but received '${v}'`);
  return n;
}

/** "go forward, turn_left, 2" → MiniGrid ids. */
export function parseActions(list: string): number[] {
  if (list.trim() === '') return [];
  return list.split(',').map((raw, k) => {
    const s = raw.trim();
    if (/^\d+$/.test(s)) return checkAction(Number(s));
    if (s === '') throw new GlamError('InvalidArgument', `Action ${k + 1} of --actions is empty; separate actions with commas, e.g. "go forward,turn left"`);
    return actionFromGlamName(s);
  });
}

function levels(f: EnvFlags, io: CliIO): void {
  const infos = listLevels().map((id) => levelInfo(id));
  if (f.json) {
    io.out(JSON.stringify(infos) + '\n');
    return;
  }
  const w = Math.max(...infos.map((i) => i.id.length));
  for (const i of infos) io.out(`${i.id.padEnd(w)}  ${i.summary}\n`);
}

/** The state as JSON with one grid column per line (still one valid JSON document). */
export function formatState(s: EnvState): string {
  const lines = Object.entries(s).map(([k, v]) => {
    if (k !== 'grid') return `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`;
    const cols = (v as number[][][]).map((col) => `    ${JSON.stringify(col)}`);
    return `  "grid": [\n${cols.join(',\n')}\n  ]`;
  });
  return `{\n${lines.join(',\n')}\n}\n`;
}

function sample(f: EnvFlags, io: CliIO): void {
  const level = requireLevel(f);
  const seed = parseSeed(f.seed);
  const env = makeEnv(level, { seed, ...parseLanguage(f.language) });
  env.reset({ seed });
  const state = envToState(env);
  io.out(f.json ? JSON.stringify(state) + '\n' : formatState(state));
}

function readState(file: string | undefined): unknown {
  if (file === undefined || file === '') throw new GlamError('InvalidArgument', 'Missing --state; pass a start state JSON file (glam env sample --level ID --json > state.json)');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new GlamError('InvalidArgument', `Cannot read the state file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the path`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new GlamError('InvalidArgument', `The state file ${file} is not valid JSON (${(e as Error).message}); write one with glam env sample --json`);
  }
}

/** view[i][j] = [type, color, state] from the flat (7, 7, 3) image. */
function nestedView(image: Uint8Array): number[][][] {
  const out: number[][][] = [];
  for (let i = 0; i < 7; i++) {
    const col: number[][] = [];
    for (let j = 0; j < 7; j++) {
      const o = (i * 7 + j) * 3;
      col.push([image[o]!, image[o + 1]!, image[o + 2]!]);
    }
    out.push(col);
  }
  return out;
}

function stepLine(t: number, env: RoomGridLevel, obs: Observation, reward: number, terminated: boolean, truncated: boolean): string {
  return JSON.stringify({
    step: t,
    mission: obs.mission,
    descriptions: obs.descriptions,
    view: nestedView(obs.image),
    agent: { pos: [env.agentPos[0], env.agentPos[1]], dir: env.agentDir },
    carrying: env.carrying === null ? null : env.carrying.encode(),
    reward,
    terminated,
    truncated,
  });
}

function replay(f: EnvFlags, io: CliIO, color: boolean): void {
  const actions = parseActions(f.actions ?? '');
  const env = envFromState(readState(f.state));
  let obs = env.reset();
  const show = (t: number, head: string, reward: number, terminated: boolean, truncated: boolean): void => {
    if (f.json) io.out(stepLine(t, env, obs, reward, terminated, truncated) + '\n');
    else io.out(`${head}\n${drawScreen(env, obs.descriptions, color)}\n`);
  };
  show(0, 'step 0 (start)', 0, false, false);
  for (let t = 0; t < actions.length; t++) {
    const a = actions[t]!;
    const r = env.step(a);
    obs = r.obs;
    const name = a < GLAM_ACTION_NAMES.length ? GLAM_ACTION_NAMES[a] : 'done';
    const end = r.terminated ? (r.reward > 0 ? '  (success)' : '  (failure)') : r.truncated ? '  (out of steps)' : '';
    show(t + 1, `step ${t + 1}: ${name} → reward ${r.reward.toFixed(4)}${end}`, r.reward, r.terminated, r.truncated);
    if (r.done) {
      const left = actions.length - t - 1;
      if (left > 0) io.err(`glam: the episode ended at step ${t + 1}; ignoring the ${left} remaining action${left > 1 ? 's' : ''}\n`);
      break;
    }
  }
}

async function play(f: EnvFlags, io: EnvCliIO): Promise<void> {
  const level = requireLevel(f);
  const seed = parseSeed(f.seed);
  const input: KeyInput = io.stdin ?? (process.stdin as unknown as KeyInput);
  if (input.isTTY !== true) {
    throw new GlamError('InvalidArgument', 'glam env play needs an interactive terminal, but stdin is not a TTY; use `glam env replay --state FILE --actions ...` to run scripted actions');
  }
  await playLoop(makeEnv(level, { seed, ...parseLanguage(f.language) }), io, input);
}
