// `glam score`: scores candidate actions for one prompt and prints log-probs, probabilities, token
// counts and the value, as a table or (--json) one JSON object:
// {"actions":[{"text","logprob","prob","tokens"}],"value"}.
import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { Policy } from '../policy/policy.js';
import { intFlag, runCommand, type CliIO } from './io.js';

interface ScoreFlags {
  model?: string;
  prompt?: string;
  actions?: string;
  json?: boolean;
  threads?: string;
  naive?: boolean;
  joint?: boolean;
}

export function registerScoreCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('score')
    .description("score candidate actions for a prompt: each action's log-prob, probability and token count, and the value")
    .option('--model <dir>', 'Hugging Face model directory (default: the built-in small model)')
    .requiredOption('--prompt <text>', 'the prompt')
    .requiredOption('--actions <list>', "candidate actions separated by '|', e.g. \"turn left|turn right|go forward\"")
    .option('--json', 'print one JSON object')
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--naive', 'score each prompt+action as a full sequence (the oracle path) instead of the fused pass')
    .option('--joint', 'tokenize prompt+action jointly instead of appending the action tokenized on its own')
    .action(async (f: ScoreFlags) => setExit(await runCommand(io, () => score(f, io))));
}

async function score(f: ScoreFlags, io: CliIO): Promise<void> {
  const actions = (f.actions ?? '').split('|').map((a) => a.trim());
  if (actions.some((a) => a === '')) {
    throw new GlamError('EmptyCandidate', `--actions has an empty action in '${f.actions}'; separate non-empty actions with '|'`);
  }
  const policy = await Policy.load(f.model, { threads: intFlag('threads', f.threads) });
  try {
    const r = await policy.score({
      prompts: [f.prompt ?? ''], candidates: [actions], mode: f.naive ? 'naive' : 'fused', tokenization: f.joint ? 'joint' : 'separate',
    });
    const rows = actions.map((text, k) => ({ text, logprob: r.logprobs[k]!, prob: r.probs[k]!, tokens: r.tokens[k]! }));
    if (f.json) {
      io.out(JSON.stringify({ actions: rows, value: r.values[0] }) + '\n');
      return;
    }
    const w = Math.max(6, ...actions.map((a) => a.length));
    io.out(`${'action'.padEnd(w)}  ${'logprob'.padStart(10)}  ${'prob'.padStart(8)}  tokens\n`);
    for (const row of rows) {
      io.out(`${row.text.padEnd(w)}  ${row.logprob.toFixed(4).padStart(10)}  ${row.prob.toFixed(4).padStart(8)}  ${String(row.tokens).padStart(6)}\n`);
    }
    io.out(`value: ${r.values[0]!.toFixed(6)}\n`);
  } finally {
    await policy.dispose();
  }
}
