// `glam init-model`: writes a seeded Hugging Face model directory (config.json, model.safetensors,
// the built-in tokenizer) with no download. See lib/model/init-model.ts.
// Subtle: a non-empty --out is refused without --force (it may hold a trained model); with --force,
// the files a previous model left that the new one would not overwrite (value head, optimizer state,
// training record, adapter, weight shards) are removed, so the directory loads as the new model only.
// Other files are left alone.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { initModel, type InitArch } from '../model/init-model.js';
import { OPTIMIZER_FILE, TRAINING_FILE } from '../policy/checkpoint.js';
import { VALUE_HEAD_FILE } from '../policy/value-head.js';
import { intFlag, runCommand, type CliIO } from './io.js';

interface InitFlags {
  arch: string;
  layers: string;
  hidden: string;
  heads: string;
  kvHeads?: string;
  intermediate?: string;
  vocab?: string;
  maxPositions?: string;
  seed: string;
  out?: string;
  force?: boolean;
}

const STALE = new Set([VALUE_HEAD_FILE, OPTIMIZER_FILE, TRAINING_FILE, 'adapter_config.json', 'adapter_model.safetensors', 'model.safetensors.index.json']);
const SHARD = /^model-\d+-of-\d+\.safetensors$/;

/** Checks --out: absent or empty, or (with --force) a directory whose previous model files are removed. */
function prepareOut(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new GlamError('InvalidArgument', `--out ${out} is a file; give a directory path`);
  const files = readdirSync(out);
  if (files.length === 0) return;
  if (!force) {
    const shown = files.slice(0, 4).join(', ') + (files.length > 4 ? `, ... (${files.length} entries)` : '');
    throw new GlamError('InvalidArgument', `--out ${out} is not empty (${shown}); choose a new directory, or pass --force to overwrite the model there`);
  }
  for (const name of files) if (STALE.has(name) || SHARD.test(name)) rmSync(join(out, name), { force: true });
}

const ARCHS: readonly InitArch[] = ['llama', 'qwen2', 'mistral', 'gpt2', 't5'];

export function registerInitModelCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('init-model')
    .description('write a seeded, randomly initialised Hugging Face model directory with the built-in tokenizer')
    .option('--arch <arch>', `architecture: ${ARCHS.join(', ')} (t5: the T5 v1.1 / Flan-T5 layout)`, 'llama')
    .option('--layers <n>', 'decoder layers (t5: encoder and decoder layers each)', '2')
    .option('--hidden <n>', 'hidden size', '128')
    .option('--heads <n>', 'attention heads', '4')
    .option('--kv-heads <n>', 'key/value heads (llama family; default: heads)')
    .option('--intermediate <n>', 'MLP width (default: 4x hidden for gpt2, ~8/3x for llama)')
    .option('--vocab <n>', "vocabulary size (default: the built-in tokenizer's)")
    .option('--max-positions <n>', 'positions', '1024')
    .option('--seed <n>', 'initialisation seed', '0')
    .requiredOption('--out <dir>', 'output directory (new or empty)')
    .option('--force', 'overwrite the model in a non-empty --out directory')
    .action(async (f: InitFlags) =>
      setExit(
        await runCommand(io, async () => {
          if (!ARCHS.includes(f.arch as InitArch)) {
            throw new GlamError('InvalidArgument', `Expected one of ${ARCHS.join(', ')} for --arch but received '${f.arch}'`);
          }
          const opts = {
            arch: f.arch as InitArch, layers: intFlag('layers', f.layers)!, hidden: intFlag('hidden', f.hidden)!,
            heads: intFlag('heads', f.heads)!, kvHeads: intFlag('kv-heads', f.kvHeads), intermediate: intFlag('intermediate', f.intermediate),
            vocab: intFlag('vocab', f.vocab, 2), maxPositions: intFlag('max-positions', f.maxPositions, 2), seed: intFlag('seed', f.seed, 0)!,
          };
          prepareOut(f.out!, f.force === true);
          initModel(f.out!, opts);
          io.out(`wrote ${f.arch} model (${f.layers} layers, hidden ${f.hidden}) to ${f.out}\n`);
        }),
      ),
    );
}
