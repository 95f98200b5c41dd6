#!/usr/bin/env node
// The `glam` command line: argument parsing and dispatch only; each command lives in its own file.
// Subtle: commands report through runCommand (lib/cli/io.ts), so bad input exits 2 with one line,
// never a stack trace; the exit code is set, not forced, so pending output is flushed.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';

import { registerEnvCommands } from './env.js';
import { registerEvalCommand } from './eval.js';
import { processIO } from './io.js';
import { registerInitModelCommand } from './init-model.js';
import { registerPlotCommand } from './plot.js';
import { registerScoreCommand } from './score.js';
import { registerServeCommand } from './serve.js';
import { registerTrainCommand } from './train.js';

export function buildProgram(io = processIO, setExit = (code: number) => void (process.exitCode = code)): Command {
  const program = new Command('glam')
    .description('GLAM from Node: score LLM candidate actions in one fused pass, BabyAI-Text, PPO')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  registerScoreCommand(program, io, setExit);
  registerInitModelCommand(program, io, setExit);
  registerEnvCommands(program, io, setExit);
  registerTrainCommand(program, io, setExit);
  registerEvalCommand(program, io, setExit);
  registerPlotCommand(program, io, setExit);
  registerServeCommand(program, io, setExit);
  return program;
}

// Run when executed (directly or through the npm bin symlink), not when imported by tests.
const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  buildProgram().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`glam: ${e.message}\n`);
    process.exitCode = 2;
  });
}
