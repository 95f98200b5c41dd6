// `glam eval`: GLAM's evaluation protocol on a policy (a directory, 'random' or 'zero-shot'), and GLAM's
// generalization suite.
//
//   glam eval --policy DIR|random|zero-shot [--model DIR] --level ID [--episodes 1000] [--greedy] [--json] [--seed S]
//             [--tokenization lamorel|separate|joint]
//   glam eval --suite generalization --policy ... [--level ID] [--tests a,b] [--episodes N] [--greedy] [--json]
//
// One level: the success rate with its 95% Wilson interval, the mean return and length, as lines or
// (--json) one object {policy, kind, level, episodes, greedy, seed, tokenization, successRate, ci95, meanReturn,
// meanLength}. Suite: a table (test | level | success | 95% CI | Δ vs no change), each row printed as it
// finishes, or (--json) one object {policy, kind, level, episodes, greedy, seed, tokenization, tests: [{test,
// glamName, level, successRate, ci95, meanReturn, meanLength, delta}]}.
//
// Subtle:
// - Actions are sampled (GLAM's post-training tests) unless --greedy; the random policy refuses --greedy.
// - --policy RUN_DIR means the run's latest saved policy (final/, else its last checkpoint).
// - --level may be left out when the policy lies in a glam run directory (its final/ or a checkpoint):
//   the run's level is used. The suite's word tests run on that base level (else BabyAI-GoToLocal-v0);
//   its composition tests have their own levels.
// - Evaluation seeds default to 1000000, away from training's (GLAM's 100·seed + i), as evaluate() does.
// - Progress goes to stderr (lib/cli/progress.ts): a bar on a terminal, else a line every 10 s; the
//   suite's bar counts the episodes of all its tests.
// - The tokenization is the run's (config.json's ppo.tokenization: a policy is scored as it was trained;
//   a run recorded before the field existed used 'separate'), else 'separate'; --tokenization overrides it.
// - A --policy path that does not exist is reported before anything else (not as a missing --level).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { listLevels } from '../env/registry.js';
import { loadEvalPolicy, type EvalPolicy } from '../agent/baselines.js';
import { evaluate, type EvalResult } from '../agent/evaluate.js';
import { GENERALIZATION_TESTS, runGeneralizationSuite, selectTests, type SuiteRow } from '../agent/generalization.js';
import { findRunDir } from '../ppo/run-dir.js';
import { TOKENIZATIONS, type Tokenization } from '../policy/batch.js';
import { intFlag, processIO, runCommand, tokenizationFlag, type CliIO } from './io.js';
import { episodeProgress, progressTerminal, type EpisodeProgress } from './progress.js';

export interface EvalFlags {
  policy?: string;
  model?: string;
  level?: string;
  episodes?: string;
  greedy?: boolean;
  json?: boolean;
  seed?: string;
  suite?: string;
  tests?: string;
  threads?: string;
  envs?: string;
  tokenization?: string;
}

/** Where progress goes: a terminal for the bar, else lines to io.err at most every progressEveryMs (default 10 s). */
export interface EvalCommandOptions {
  tty?: NodeJS.WritableStream;
  progressEveryMs?: number;
}

const SUITE_DEFAULT_LEVEL = 'BabyAI-GoToLocal-v0';

type Memory = { observations: number; actions: number };

/** The level, prompt memory and tokenization of the run a policy lies in (a policy is evaluated with the prompts and ids it was trained on). */
function runSettings(policy: string): { level?: string; memory?: Memory; tokenization?: Tokenization } {
  const dir = findRunDir(policy);
  if (!dir) return {};
  try {
    const ppo = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { ppo?: { level?: string; memory?: Memory; tokenization?: string } }).ppo;
    const m = ppo?.memory;
    const memory = m && Number.isSafeInteger(m.observations) && Number.isSafeInteger(m.actions) ? { observations: m.observations, actions: m.actions } : undefined;
    const tokenization = (TOKENIZATIONS as readonly (string | undefined)[]).includes(ppo?.tokenization) ? ppo!.tokenization as Tokenization : 'separate';
    return { level: ppo?.level, tokenization, ...(memory ? { memory } : {}) };
  } catch {
    return {};
  }
}

function checkLevel(level: string): string {
  const id = level.startsWith('BabyAI-') ? level : `BabyAI-${level}-v0`;
  if (!listLevels().includes(id)) throw new GlamError('InvalidArgument', `Expected one of ${listLevels().join(', ')} for --level but received '${level}'`);
  return id;
}

/** A run directory given as --policy stands for its latest saved policy: final/, else its last checkpoint. */
function policyPath(spec: string): string {
  if (spec === 'random' || spec === 'zero-shot') return spec;
  const run = findRunDir(spec);
  if (run === null || run !== resolve(spec)) return spec;
  let ck: { path?: string } | null = null;
  try {
    ck = (JSON.parse(readFileSync(join(run, 'state.json'), 'utf8')) as { checkpoint?: { path?: string } | null }).checkpoint ?? null;
  } catch {
    /* no state: reported below */
  }
  if (!ck?.path) throw new GlamError('InvalidArgument', `${spec} is a run directory with no saved policy yet (no final/ or checkpoint)`);
  return join(spec, ck.path);
}

const f3 = (x: number) => x.toFixed(3);
const ci = (r: EvalResult) => `[${f3(r.ci95[0])}, ${f3(r.ci95[1])}]`;

/** Runs `glam eval` with parsed flags. */
export async function evalCommand(f: EvalFlags, io: CliIO, opts: EvalCommandOptions = {}): Promise<void> {
  if (f.policy === undefined) throw new GlamError('InvalidArgument', "Expected --policy DIR, 'random' or 'zero-shot'");
  if (f.policy !== 'random' && f.policy !== 'zero-shot' && !existsSync(f.policy)) {
    throw new GlamError('ConfigMissing', `Expected a policy directory, 'random' or 'zero-shot' for --policy but ${JSON.stringify(f.policy)} does not exist`);
  }
  const spec = policyPath(f.policy);
  if (f.suite !== undefined && f.suite !== 'generalization') throw new GlamError('InvalidArgument', `Expected generalization for --suite but received '${f.suite}'`);
  if (f.tests !== undefined && f.suite === undefined) throw new GlamError('InvalidArgument', '--tests selects tests of --suite generalization');
  if (f.model !== undefined && spec !== 'zero-shot') throw new GlamError('InvalidArgument', '--model names the untrained model of --policy zero-shot');
  const episodes = intFlag('episodes', f.episodes) ?? 1000;
  const seed = intFlag('seed', f.seed, 0) ?? 1_000_000;
  const numEnvs = intFlag('envs', f.envs);
  const greedy = f.greedy === true;
  if (greedy && spec === 'random') throw new GlamError('InvalidArgument', '--greedy does not apply to the random policy (its argmax is always the first candidate)');
  const tests = f.tests?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (tests) selectTests(tests); // bad names fail before loading anything
  const run = spec === 'random' || spec === 'zero-shot' ? {} : runSettings(spec);
  const tokenization = tokenizationFlag(f.tokenization) ?? run.tokenization ?? 'separate';
  const fromRun = run.level;
  const memory = run.memory ? { memory: run.memory } : {};
  const level = f.level !== undefined ? checkLevel(f.level) : f.suite ? fromRun ?? SUITE_DEFAULT_LEVEL : fromRun;
  if (level === undefined) throw new GlamError('InvalidArgument', `Expected --level ID (the policy ${spec} is not in a glam run directory that names one)`);

  const p: EvalPolicy = await loadEvalPolicy(spec, { model: f.model, threads: intFlag('threads', f.threads), tokenization });
  // one bar (or line stream) per evaluation: the suite's bar of a test clears itself before its row prints
  let progress: EpisodeProgress | null = null;
  try {
    const common = { policy: p.description, kind: p.kind, level, episodes, greedy, seed, tokenization };
    const env = { level, episodes, greedy, seed, ...memory, ...(numEnvs ? { numEnvs } : {}) };
    const startProgress = (label: string) => episodeProgress(io, { total: episodes, label, ...(opts.tty ? { tty: opts.tty } : {}), everyMs: opts.progressEveryMs });
    const stopProgress = () => {
      progress?.stop();
      progress = null;
    };
    if (f.suite === undefined) {
      progress = startProgress('eval');
      const r = await evaluate(p.scorer, { ...env, onEpisode: (n, wins) => progress?.update(n, wins) });
      stopProgress();
      if (f.json) {
        io.out(JSON.stringify({ ...common, successRate: r.successRate, ci95: r.ci95, meanReturn: r.meanReturn, meanLength: r.meanLength }) + '\n');
        return;
      }
      io.out(`policy    ${p.description}\nlevel     ${level}\nactions   ${greedy ? 'greedy' : 'sampled'}\nepisodes  ${r.episodes} (seed ${seed})\ntokens    ${tokenization} tokenization\n` +
        `success   ${f3(r.successRate)}  (95% CI ${f3(r.ci95[0])}-${f3(r.ci95[1])})\nreturn    ${f3(r.meanReturn)}\nlength    ${r.meanLength.toFixed(1)}\n`);
      return;
    }
    const selected = selectTests(tests);
    const wTest = Math.max(...GENERALIZATION_TESTS.map((t) => t.name.length)) + 2;
    const wLevel = Math.max(...selected.map((t) => (t.level ?? level).length)) + 2;
    if (!f.json) {
      io.out(`policy ${p.description}; ${episodes} episodes per test, ${greedy ? 'greedy' : 'sampled'} actions, seed ${seed}, ${tokenization} tokenization\n`);
      io.out(`${'test'.padEnd(wTest)}${'level'.padEnd(wLevel)}${'success'.padStart(8)}  ${'95% CI'.padEnd(16)}  Δ vs no change\n`);
    }
    let done = 0; // tests finished
    const rows: SuiteRow[] = await runGeneralizationSuite(p.scorer, {
      ...env, ...(tests ? { tests } : {}),
      onEpisode: (n, wins) => (progress ??= startProgress(`eval ${selected[done]?.name ?? ''} (${done + 1}/${selected.length})`)).update(n, wins),
      onRow: (r) => {
        ++done;
        stopProgress();
        if (f.json) return;
        const delta = r.test === 'no-change' ? '' : `${r.delta >= 0 ? '+' : ''}${f3(r.delta)}`;
        io.out(`${r.test.padEnd(wTest)}${r.level.padEnd(wLevel)}${f3(r.result.successRate).padStart(8)}  ${ci(r.result).padEnd(16)}  ${delta}\n`);
      },
    });
    if (f.json) {
      io.out(JSON.stringify({
        ...common,
        tests: rows.map((r) => ({
          test: r.test, glamName: r.glamName, level: r.level, successRate: r.result.successRate, ci95: r.result.ci95,
          meanReturn: r.result.meanReturn, meanLength: r.result.meanLength, delta: r.delta,
        })),
      }) + '\n');
    }
  } finally {
    progress?.stop(); // a failed evaluation leaves the terminal clean
    await p.dispose();
  }
}

export function registerEvalCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('eval')
    .description("evaluate a policy with GLAM's protocol (success rate, 95% CI, mean return and length), or run the generalization suite")
    .option('--policy <dir>', "policy directory (a run directory, its final/ or a checkpoint, any model), 'random' or 'zero-shot'")
    .option('--model <dir>', 'with --policy zero-shot: the untrained model (default: the built-in one)')
    .option('--level <id>', "level (default: the policy's run's level; the suite's base level, default BabyAI-GoToLocal-v0)")
    .option('--episodes <n>', 'episodes (per test with --suite)', '1000')
    .option('--greedy', 'take the most probable action (default: sample, as GLAM)')
    .option('--json', 'print one JSON object')
    .option('--seed <n>', 'seed of the evaluation episodes (default 1000000)')
    .option('--suite <name>', "'generalization': GLAM's generalization tests as a table")
    .option('--tests <list>', `with --suite: comma-separated tests (${GENERALIZATION_TESTS.map((t) => t.name).join(', ')})`)
    .option('--envs <n>', 'environments stepped together (default 32)')
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--tokenization <rule>', "how prompts become token ids: 'lamorel' (no special tokens), 'separate' or 'joint' (default: the policy's run's, else 'separate')")
    .action(async (f: EvalFlags) => {
      const tty = io === processIO ? progressTerminal() : undefined;
      setExit(await runCommand(io, () => evalCommand(f, io, tty ? { tty } : {})));
    });
}
