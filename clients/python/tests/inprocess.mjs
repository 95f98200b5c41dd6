// The reference for the Python tests: Policy.score / Policy.scoreTokens in-process (the built package,
// dist/), on the same built-in model the server loads. Reads one JSON request on stdin:
// {"prompts": [...], "candidates": [...], "options": {...}} (text) or {"tokens": true, "prompts": [[ids]],
// "candidates": [[[ids]]]}, and prints the ScoreResult's arrays as JSON.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { Policy } = await import(join(root, 'dist', 'lib', 'index.js'));
const req = JSON.parse(readFileSync(0, 'utf8'));
const policy = await Policy.load(undefined, { threads: 1, device: 'cpu' });
const r = req.tokens
  ? await policy.scoreTokens({ prompts: req.prompts, candidates: req.candidates })
  : await policy.score({ prompts: req.prompts, candidates: req.candidates, ...(req.options ?? {}) });
const out = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
process.stdout.write(JSON.stringify(out));
await policy.dispose();
