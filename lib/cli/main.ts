#!/usr/bin/env node
// The `glam` command line: argument parsing and dispatch only; each command lives in its own file.
// Subtle: commands report through runCommand (lib/cli/io.ts), so bad input exits 2 with one line,
// never a stack trace; the exit code is set, not forced, so pending output is flushed. Commander's
// own errors (unknown flag or command, missing argument) are usage errors too: exitOverride, set
// before any command is registered so that every subcommand inherits it, turns their exit 1 into 2.
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command, CommanderError } from 'commander';

import { registerEnvCommands } from './env.js';
import { registerEvalCommand } from './eval.js';
import { EXIT, EXIT_CODES_HELP, processIO } from './io.js';
import { registerInitModelCommand } from './init-model.js';
import { registerPlotCommand } from './plot.js';
import { registerScoreCommand } from './score.js';
import { registerServeCommand } from './serve.js';
import { registerTrainCommand } from './train.js';
import { packageRoot } from '../util/package-root.js';

/** The version in glam's package.json. */
export function glamVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(io = processIO, setExit = (code: number) => void (process.exitCode = code)): Command {
  const program = new Command('glam')
    .description('GLAM from Node: score LLM candidate actions in one fused pass, BabyAI-Text, PPO')
    .version(glamVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride((e) => {
      throw e.exitCode === EXIT.ok ? e : new CommanderError(EXIT.usage, e.code, e.message);
    });
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
    if (e instanceof CommanderError) { // help, --version, or a usage error commander has already printed
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`glam: internal error: ${e.message}\n`);
    process.exitCode = EXIT.failure;
  });
}
