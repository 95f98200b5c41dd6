// `glam score`: scores candidate actions for one prompt and prints log-probs, probabilities, token
// counts and the value, as a table or (--json) one JSON object:
// {"actions":[{"text","logprob","prob","tokens"}],"value","valueTrained"}.
// Subtle:
// - Each action's text is kept exactly as given (" Paris" is not "Paris": the leading space is a
//   different token); the table prints texts as JSON strings so that such spaces show.
// - --actions-file takes thousands of candidates: a JSON array of strings when its first non-blank
//   character is '[', else one action per line (a final newline and CRs of CRLF line ends are not
//   part of an action); '-' reads standard input.
// - A model directory without value_head.safetensors has a freshly initialised value head: its
//   output means nothing, so the value is reported as untrained (null in --json), not printed.
import { readFileSync } from 'node:fs';

import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { Policy } from '../policy/policy.js';
import { VALUE_HEAD_FILE } from '../policy/value-head.js';
import { intFlag, runCommand, type CliIO } from './io.js';

interface ScoreFlags {
  model?: string;
  prompt?: string;
  actions?: string;
  actionsFile?: string;
  json?: boolean;
  threads?: string;
  naive?: boolean;
  joint?: boolean;
  lamorel?: boolean;
}

function fromJson(text: string, file: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new GlamError('InvalidArgument', `--actions-file ${file} starts with '[' but is not valid JSON (${(e as Error).message}); write a JSON array of strings, or one action per line`);
  }
  if (!Array.isArray(v)) throw new GlamError('InvalidArgument', `--actions-file ${file} must hold a JSON array of strings`);
  v.forEach((a, k) => {
    if (typeof a !== 'string') throw new GlamError('InvalidArgument', `Expected a string for action ${k} of --actions-file ${file} but received ${JSON.stringify(a)}`);
    if (a === '') throw new GlamError('EmptyCandidate', `action ${k} of --actions-file ${file} is empty`);
  });
  return v as string[];
}

function fromLines(text: string, file: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    if (l === '') throw new GlamError('EmptyCandidate', `line ${i + 1} of --actions-file ${file} is empty; write one non-empty action per line`);
  });
  return lines;
}

/** The candidate actions of --actions or --actions-file, texts exactly as given. */
export function readActions(f: Pick<ScoreFlags, 'actions' | 'actionsFile'>, stdin = () => readFileSync(0, 'utf8')): string[] {
  if ((f.actions === undefined) === (f.actionsFile === undefined)) {
    throw new GlamError('InvalidArgument', "Expected one of --actions 'a|b|c' or --actions-file FILE");
  }
  let actions: string[];
  if (f.actions !== undefined) {
    actions = f.actions.split('|');
    const k = actions.indexOf('');
    if (k >= 0) throw new GlamError('EmptyCandidate', `--actions has an empty action (number ${k + 1}) in '${f.actions}'; separate non-empty actions with '|'`);
  } else {
    const file = f.actionsFile!;
    let text: string;
    try {
      text = file === '-' ? stdin() : readFileSync(file, 'utf8');
    } catch (e) {
      throw new GlamError('InvalidArgument', `cannot read --actions-file ${file}: ${(e as Error).message}`, { cause: e });
    }
    actions = text.trimStart().startsWith('[') ? fromJson(text, file) : fromLines(text, file);
  }
  if (actions.length === 0) throw new GlamError('EmptyCandidates', 'no candidate actions given; pass at least one');
  return actions;
}

export function registerScoreCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('score')
    .description("score candidate actions for a prompt: each action's log-prob, probability and token count, and the value")
    .option('--model <dir>', 'Hugging Face model directory (default: the built-in small model)')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--actions <list>', "candidate actions separated by '|', each kept exactly (spaces too), e.g. \"turn left|turn right|go forward\"")
    .option('--actions-file <file>', "candidate actions from a file: a JSON array of strings, or one per line ('-': standard input)")
    .option('--json', 'print one JSON object')
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--naive', 'score each prompt+action as a full sequence (the oracle path) instead of the fused pass')
    .option('--joint', 'tokenize prompt+action jointly instead of appending the action tokenized on its own')
    .option('--lamorel', "tokenize the prompt without special tokens, as Lamorel did (no T5 </s>, no BOS)")
    .action(async (f: ScoreFlags) => setExit(await runCommand(io, () => score(f, io))));
}

async function score(f: ScoreFlags, io: CliIO): Promise<void> {
  if (f.joint && f.lamorel) throw new GlamError('InvalidArgument', '--joint and --lamorel are two tokenizations: pass one');
  const actions = readActions(f);
  const policy = await Policy.load(f.model, { threads: intFlag('threads', f.threads) });
  try {
    const r = await policy.score({
      prompts: [f.prompt ?? ''], candidates: [actions], mode: f.naive ? 'naive' : 'fused', tokenization: f.joint ? 'joint' : f.lamorel ? 'lamorel' : 'separate',
    });
    const rows = actions.map((text, k) => ({ text, logprob: r.logprobs[k]!, prob: r.probs[k]!, tokens: r.tokens[k]! }));
    const trained = policy.valueHeadTrained;
    if (f.json) {
      io.out(JSON.stringify({ actions: rows, value: trained ? r.values[0] : null, valueTrained: trained }) + '\n');
      return;
    }
    const shown = actions.map((a) => JSON.stringify(a));
    const w = Math.max(6, ...shown.map((a) => a.length));
    io.out(`${'action'.padEnd(w)}  ${'logprob'.padStart(10)}  ${'prob'.padStart(8)}  tokens\n`);
    rows.forEach((row, k) => {
      io.out(`${shown[k]!.padEnd(w)}  ${row.logprob.toFixed(4).padStart(10)}  ${row.prob.toFixed(4).padStart(8)}  ${String(row.tokens).padStart(6)}\n`);
    });
    io.out(trained ? `value: ${r.values[0]!.toFixed(6)}\n`
      : `value: untrained (no ${VALUE_HEAD_FILE} in ${f.model ?? 'the built-in model'}; a trained policy's directory has one)\n`);
  } finally {
    await policy.dispose();
  }
}
