// Runs the `glam` command line in-process (the real parser and commands) with its output captured:
// the shared harness of the CLI tests.
import { buildProgram } from '../../lib/cli/main.js';

export async function runCli(args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  let code = 0;
  const program = buildProgram({ out: (s) => void (out += s), err: (s) => void (err += s) }, (c) => void (code = c));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  return { out, err, code };
}
