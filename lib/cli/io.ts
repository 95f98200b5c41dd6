// CLI plumbing shared by every command: output writers that tests can capture, and the one place
// where errors become a message and an exit code.
// Exit codes (EXIT; the README's Commands section and `glam --help` say the same):
//   0 success; 1 a runtime failure: the command was right but the machine failed it (IoError,
//   CudaError, NativeAddonMissing, MpiUnavailable, LearnerLost, an internal error: a bug); 2 a usage or input error: a bad flag or
//   argument (commander's errors, mapped in main.ts) or any other GlamError (a bad file, model, level...).
// Failures print one line "glam: CODE: message" (the stack only with GLAM_DEBUG=1).
import { GlamError, type GlamErrorCode } from '../errors.js';
import { TOKENIZATIONS, type Tokenization } from '../policy/batch.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** GlamError codes that are the machine's failure, not the input's. */
const RUNTIME_CODES: ReadonlySet<GlamErrorCode> = new Set<GlamErrorCode>(['IoError', 'CudaError', 'NativeAddonMissing', 'MpiUnavailable', 'LearnerLost', 'Internal']);

export const EXIT_CODES_HELP = 'Exit codes: 0 success; 1 runtime failure (I/O, device or engine error, internal error); 2 usage or input error (bad flag, argument, file or model).';

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

// A closed pipe (`glam env levels | head -3`) is not an error: stop writing quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

export const processIO: CliIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

/** Runs a command body, reporting failures; returns the exit code (see EXIT). */
export async function runCommand(io: CliIO, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return EXIT.ok;
  } catch (e) {
    if (process.env.GLAM_DEBUG === '1') io.err(`${(e as Error).stack}\n`);
    if (e instanceof GlamError) {
      io.err(`glam: ${e.code}: ${e.message}\n`);
      return RUNTIME_CODES.has(e.code) ? EXIT.failure : EXIT.usage;
    }
    io.err(`glam: internal error: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
}

/** Parses a positive integer flag or throws InvalidArgument naming the flag. */
export function intFlag(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new GlamError('InvalidArgument', `Expected an integer >= ${min} for --${name} but received '${v}'`);
  }
  return n;
}

/** --tokenization: one of lib/policy/batch.ts's rules. */
export function tokenizationFlag(v: string | undefined): Tokenization | undefined {
  if (v === undefined) return undefined;
  if (!(TOKENIZATIONS as readonly string[]).includes(v)) {
    throw new GlamError('InvalidArgument', `Expected ${TOKENIZATIONS.join(', ')} for --tokenization but received '${v}'`);
  }
  return v as Tokenization;
}
