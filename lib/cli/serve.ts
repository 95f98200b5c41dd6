// `glam serve`: loads the policy and serves it over HTTP (lib/server/): scoring, OpenAI/vLLM-compatible
// completions for scoring, tokenizer routes, metrics, and with --allow-training the training calls.
// Prints its URL and what it serves on stdout; logs are pino JSON lines on stderr.
// Subtle: SIGTERM/SIGINT stop accepting, let in-flight requests finish (--shutdown-timeout), free the
// engine and exit 0 (1 when the deadline passed with work still running).
import { basename } from 'node:path';

import type { Command } from 'commander';

import { GlamError } from '../errors.js';
import type { Device } from '../native/binding.js';
import { Policy } from '../policy/policy.js';
import { SERVE_DEFAULTS, defaultMaxBatchTokens, type ServeOptions } from '../server/context.js';
import { createServer } from '../server/server.js';
import { intFlag, runCommand, type CliIO } from './io.js';

interface ServeFlags {
  model?: string; host: string; port: string; apiKey?: string; device: string; threads?: string;
  maxBatchTokens?: string; maxWaitMs: string; maxQueue: string; maxBodyBytes: string; coalesce: boolean;
  allowTraining?: boolean; trainRoot?: string; shutdownTimeout: string; logLevel: string;
}

export function registerServeCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const d = SERVE_DEFAULTS;
  program
    .command('serve')
    .description('serve scoring (and, with --allow-training, training) over HTTP: /v1/score, OpenAI-compatible /v1/completions, /metrics')
    .option('--model <dir>', 'Hugging Face model directory or glam checkpoint (default: the built-in small model)')
    .option('--host <host>', 'address to bind (loopback unless told otherwise)', d.host)
    .option('--port <n>', 'port (0: any free port)', String(d.port))
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" (default: $GLAM_API_KEY)')
    .option('--device <d>', 'auto | cpu | cuda', 'auto')
    .option('--threads <n>', 'CPU threads for the engine (default: all cores)')
    .option('--max-batch-tokens <n>', 'packed tokens per coalesced fused pass (default: 1024 on the CPU, 8192 on the GPU)')
    .option('--max-wait-ms <n>', 'longest wait for other requests to batch with', String(d.maxWaitMs))
    .option('--max-queue <n>', 'waiting requests beyond which the server answers 429', String(d.maxQueue))
    .option('--max-body-bytes <n>', 'largest request body (413 beyond)', String(d.maxBodyBytes))
    .option('--no-coalesce', 'one request per fused pass (the benchmark baseline)')
    .option('--allow-training', 'serve /v1/train/* (needs an API key and --train-root)')
    .option('--train-root <dir>', 'the only directory /v1/train/save may write under')
    .option('--shutdown-timeout <s>', 'seconds SIGTERM/SIGINT waits for in-flight requests', String(d.shutdownTimeoutS))
    .option('--log-level <level>', 'pino level: fatal | error | warn | info | debug', d.logLevel)
    .action(async (f: ServeFlags) => setExit(await runCommand(io, () => serve(f, io))));
}

async function serve(f: ServeFlags, io: CliIO): Promise<void> {
  if (!['auto', 'cpu', 'cuda'].includes(f.device)) throw new GlamError('InvalidArgument', `Expected auto, cpu or cuda for --device but received '${f.device}'`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(f.logLevel)) {
    throw new GlamError('InvalidArgument', `Expected fatal, error, warn, info, debug, trace or silent for --log-level but received '${f.logLevel}'`);
  }
  const opts: ServeOptions = {
    ...SERVE_DEFAULTS,
    host: f.host, port: intFlag('port', f.port, 0)!, apiKey: f.apiKey ?? (process.env.GLAM_API_KEY || undefined),
    maxBatchTokens: intFlag('max-batch-tokens', f.maxBatchTokens) ?? 0, maxWaitMs: intFlag('max-wait-ms', f.maxWaitMs, 0)!,
    maxQueue: intFlag('max-queue', f.maxQueue)!, maxBodyBytes: intFlag('max-body-bytes', f.maxBodyBytes)!, coalesce: f.coalesce,
    allowTraining: f.allowTraining === true, trainRoot: f.trainRoot, shutdownTimeoutS: intFlag('shutdown-timeout', f.shutdownTimeout, 0)!,
    logLevel: f.logLevel, modelName: f.model ? basename(f.model.replace(/[/\\]+$/, '')) : 'glam-builtin',
  };
  if (opts.allowTraining && !opts.apiKey) throw new GlamError('InvalidArgument', '--allow-training needs an API key: pass --api-key KEY or set $GLAM_API_KEY');
  if (opts.allowTraining && !opts.trainRoot) throw new GlamError('InvalidArgument', '--allow-training needs --train-root DIR: checkpoints are saved only under it');
  const policy = await Policy.load(f.model, { threads: intFlag('threads', f.threads), device: f.device as Device });
  if (opts.maxBatchTokens === 0) opts.maxBatchTokens = defaultMaxBatchTokens(policy.device);
  const server = createServer(policy, opts, { level: opts.logLevel, stream: process.stderr }); // pino on stderr: stdout has only what glam serve prints
  let url: string;
  try {
    url = await server.listen();
  } catch (e) {
    await policy.dispose();
    throw new GlamError('InvalidArgument', `cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}; pick another --port or --host`);
  }
  io.out(`glam serve: ${url}\n`);
  io.out(`  model ${opts.modelName} (${policy.dir}) on ${policy.device}, ${policy.config.vocabSize} tokens, context ${policy.config.maxPositions}; value head ${policy.valueHeadTrained ? 'trained' : 'UNTRAINED (values are random until trained)'}\n`);
  io.out(`  POST /v1/score, /v1/completions (scoring: echo, logprobs <= 20, max_tokens 0|1), /tokenize, /detokenize; GET /tokenizer_info, /v1/models, /health, /metrics\n`);
  io.out(`  training ${opts.allowTraining ? `on: POST /v1/train/{forward,backward,step,zero_grad,save} (saves under ${opts.trainRoot})` : 'off'}; API key ${opts.apiKey ? 'required' : 'not required'}; batches up to ${opts.maxBatchTokens} tokens${opts.coalesce ? `, waiting up to ${opts.maxWaitMs} ms` : ', coalescing off'}\n`);
  if (!opts.apiKey && !['127.0.0.1', 'localhost', '::1'].includes(opts.host)) io.err(`glam serve: warning: listening on ${opts.host} without an API key\n`);
  const signal = await new Promise<string>((r) => {
    process.once('SIGTERM', () => r('SIGTERM'));
    process.once('SIGINT', () => r('SIGINT'));
  });
  io.out(`glam serve: ${signal}: draining (up to ${opts.shutdownTimeoutS} s)\n`);
  const drained = await server.close();
  if (drained) await policy.dispose();
  io.out(drained ? 'glam serve: stopped\n' : 'glam serve: deadline passed with requests in flight; exiting\n');
  if (!drained) throw new GlamError('Internal', 'shutdown deadline passed with requests still in flight');
}
