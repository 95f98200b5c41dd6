// Runs `glam <args>` in this process (for the child-process SIGINT test in train.test.ts): the command's
// own SIGINT handler is what is under test, so nothing here touches signals.
import { buildProgram } from '../../lib/cli/main.js';

await buildProgram().parseAsync(process.argv.slice(2), { from: 'user' });
