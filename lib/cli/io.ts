// CLI plumbing shared by every command: output writers that tests can capture, and the one place
// where errors become a message and an exit code.
// Subtle: a GlamError (bad input) exits 2 with one line naming its code; anything else is a bug and
// exits 1 with the message (the stack only with GLAM_DEBUG=1).
import { GlamError } from '../errors.js';

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

/** Runs a command body, reporting failures; returns the exit code. */
export async function runCommand(io: CliIO, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (e) {
    if (e instanceof GlamError) {
      io.err(`glam: ${e.code}: ${e.message}\n`);
      return 2;
    }
    io.err(`glam: internal error: ${(e as Error).message}\n`);
    if (process.env.GLAM_DEBUG === '1') io.err(`${(e as Error).stack}\n`);
    return 1;
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
