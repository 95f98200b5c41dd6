// TextTokenizer: a Hugging Face tokenizer.json (+ tokenizer_config.json) through the maintained
// @huggingface/tokenizers library, which reproduces the Rust tokenizers' ids (tested against ids
// recorded from Python in test/fixtures/models/*/expected.json).
// Subtle: prompts are encoded WITH the tokenizer's special tokens (a BOS where its post-processor
// adds one, as a user's `tokenizer(prompt)` call would), candidates WITHOUT them, so a candidate's ids
// can be appended to its prompt's ids.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Tokenizer } from '@huggingface/tokenizers';

import { GlamError } from '../errors.js';

export class TextTokenizer {
  readonly #tok: Tokenizer;
  readonly vocabSize: number;

  private constructor(tok: Tokenizer, vocabSize: number) {
    this.#tok = tok;
    this.vocabSize = vocabSize;
  }

  /** Loads `dir/tokenizer.json` and, when present, `dir/tokenizer_config.json`. */
  static load(dir: string): TextTokenizer {
    const file = join(dir, 'tokenizer.json');
    if (!existsSync(file)) {
      throw new GlamError('TokenizerMissing', `no tokenizer.json in ${dir}; copy the model's tokenizer files next to its config.json`);
    }
    let json: Record<string, unknown>;
    let config: Record<string, unknown> = {};
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const cfgFile = join(dir, 'tokenizer_config.json');
      if (existsSync(cfgFile)) config = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new GlamError('TokenizerInvalid', `${file} or its tokenizer_config.json is not valid JSON: ${(e as Error).message}`);
    }
    try {
      const tok = new Tokenizer(json, config);
      const model = json.model as { vocab?: Record<string, number> | unknown[] } | undefined;
      const added = (json.added_tokens as { id: number }[] | undefined) ?? [];
      let size = 0;
      if (model?.vocab && Array.isArray(model.vocab)) size = model.vocab.length;
      else if (model?.vocab) size = Math.max(-1, ...Object.values(model.vocab as Record<string, number>)) + 1;
      for (const a of added) size = Math.max(size, a.id + 1);
      return new TextTokenizer(tok, size);
    } catch (e) {
      throw new GlamError('TokenizerInvalid', `${file} could not be loaded as a tokenizer: ${(e as Error).message}`);
    }
  }

  /** Token ids of `text`; `specials` adds the tokenizer's special tokens (BOS...) as its post-processor says. */
  encode(text: string, specials: boolean): number[] {
    return this.#tok.encode(text, { add_special_tokens: specials }).ids;
  }

  /** Text of `ids`; `skipSpecial` leaves out special tokens (BOS, EOS...), as the text a user wrote. */
  decode(ids: number[], skipSpecial = false): string {
    return this.#tok.decode(ids, { skip_special_tokens: skipSpecial });
  }
}
