// text_offset by incremental detokenization (lib/server/text-offsets.ts) against its quadratic
// definition, len(decode(ids[:i])), with every fixture tokenizer (SentencePiece-style Llama/Mistral,
// byte-level GPT-2 and Qwen2, the built-in one): equal wherever that prefix does not end inside a
// cut multi-byte character; there, the offset is where the character starts (the prefix's length
// without its trailing U+FFFD), as vLLM's incremental detokenizer gives.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { textOffsets } from '../../lib/server/text-offsets.js';

const root = join(__dirname, '..', 'fixtures', 'models');
const dirs: (string | undefined)[] = [undefined, ...readdirSync(root).filter((m) => existsSync(join(root, m, 'tokenizer.json'))).map((m) => join(root, m))];
const TEXTS = [
  'Goal of the agent: go to the red ball\nObservation 0: You see a wall 2 steps forward\nAction 0: turn left',
  '  leading spaces, double  spaces and a trailing one ',
  'café, naïve, 東京 and 🙂🙂 — unicode cut between byte-level tokens',
];

test.each(dirs.map((d) => [d ? d.split('/').at(-1)! : 'built-in', d] as const))('%s: incremental offsets equal the quadratic definition', async (_name, dir) => {
  const policy = await Policy.load(dir, { threads: 1, device: 'cpu' });
  try {
    const tok = policy.tokenizer;
    for (const text of TEXTS) {
      for (const special of [true, false]) {
        const ids = tok.encode(text, special);
        const got = textOffsets(tok, ids);
        expect(got).toHaveLength(ids.length);
        ids.forEach((_, i) => {
          const prefix = i > 0 ? tok.decode(ids.slice(0, i), true) : '';
          expect(got[i], `${JSON.stringify(text.slice(0, 20))} token ${i}`).toBe(prefix.replace(/\uFFFD+$/, '').length);
        });
      }
    }
  } finally {
    await policy.dispose();
  }
});
