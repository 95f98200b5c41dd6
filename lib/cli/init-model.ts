// `glam init-model`: writes a seeded Hugging Face model directory (config.json, model.safetensors,
// the built-in tokenizer) with no download. See lib/model/init-model.ts.
import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import { initModel, type InitArch } from '../model/init-model.js';
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
}

const ARCHS: readonly InitArch[] = ['llama', 'qwen2', 'mistral', 'gpt2'];

export function registerInitModelCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('init-model')
    .description('write a seeded, randomly initialised Hugging Face model directory with the built-in tokenizer')
    .option('--arch <arch>', `architecture: ${ARCHS.join(', ')}`, 'llama')
    .option('--layers <n>', 'decoder layers', '2')
    .option('--hidden <n>', 'hidden size', '128')
    .option('--heads <n>', 'attention heads', '4')
    .option('--kv-heads <n>', 'key/value heads (llama family; default: heads)')
    .option('--intermediate <n>', 'MLP width (default: 4x hidden for gpt2, ~8/3x for llama)')
    .option('--vocab <n>', "vocabulary size (default: the built-in tokenizer's)")
    .option('--max-positions <n>', 'positions', '1024')
    .option('--seed <n>', 'initialisation seed', '0')
    .requiredOption('--out <dir>', 'output directory')
    .action(async (f: InitFlags) =>
      setExit(
        await runCommand(io, async () => {
          if (!ARCHS.includes(f.arch as InitArch)) {
            throw new GlamError('InvalidArgument', `Expected one of ${ARCHS.join(', ')} for --arch but received '${f.arch}'`);
          }
          initModel(f.out!, {
            arch: f.arch as InitArch, layers: intFlag('layers', f.layers)!, hidden: intFlag('hidden', f.hidden)!,
            heads: intFlag('heads', f.heads)!, kvHeads: intFlag('kv-heads', f.kvHeads), intermediate: intFlag('intermediate', f.intermediate),
            vocab: intFlag('vocab', f.vocab, 2), maxPositions: intFlag('max-positions', f.maxPositions, 2), seed: intFlag('seed', f.seed, 0)!,
          });
          io.out(`wrote ${f.arch} model (${f.layers} layers, hidden ${f.hidden}) to ${f.out}\n`);
        }),
      ),
    );
}
