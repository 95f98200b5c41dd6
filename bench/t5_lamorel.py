"""bench/score's PyTorch peer for T5: candidate scoring the way Lamorel's seq2seq scorer does it
(lamorel server/llms/hf_llm.py with pre_encode_inputs; ../shared/reference/serving-distributed-t5.md §4):

  1. the encoder runs once per prompt over a right-padded batch of the prompts (attention mask);
  2. its output is repeated once per candidate (repeat_interleave: a copy per candidate);
  3. the decoder runs on a padded batch of [decoder_start] + candidate tokens, cross-attending to the copies;
  4. a full log-softmax over the vocabulary at every decoder position, gathered at the candidate's tokens.

    python bench/t5_lamorel.py --model DIR --batch in.json --out out.json [--threads N] [--reps N]

in.json: {"prompts": [[ids]], "candidates": [[[ids]]]} (token ids, as glam scores them); out.json: seconds per
batch (median of --reps after one warm-up), the log-probs (float32 model), torch and transformers versions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import T5ForConditionalGeneration


@torch.no_grad()
def score(model, prompts, candidates, start: int) -> list[float]:
    P = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), P, dtype=torch.long)
    mask = torch.zeros(len(prompts), P, dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, :len(p)] = torch.tensor(p)
        mask[b, :len(p)] = 1
    enc = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    counts = torch.tensor([len(c) for c in candidates])
    enc_rep = enc.repeat_interleave(counts, dim=0)
    mask_rep = mask.repeat_interleave(counts, dim=0)
    flat = [c for cs in candidates for c in cs]
    A = max(len(c) for c in flat)
    dec = torch.zeros(len(flat), A + 1, dtype=torch.long)
    dec[:, 0] = start
    dmask = torch.zeros(len(flat), A + 1, dtype=torch.long)
    for k, c in enumerate(flat):
        dec[k, 1:1 + len(c)] = torch.tensor(c)
        dmask[k, :1 + len(c)] = 1
    out = model(encoder_outputs=(enc_rep,), attention_mask=mask_rep, decoder_input_ids=dec, decoder_attention_mask=dmask)
    lp = torch.log_softmax(out.logits, dim=-1)
    res = []
    for k, c in enumerate(flat):
        res.append(float(lp[k, torch.arange(len(c)), torch.tensor(c)].sum()))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = T5ForConditionalGeneration.from_pretrained(a.model, dtype=torch.float32).eval()
    batch = json.load(open(a.batch))
    start = model.config.decoder_start_token_id
    score(model, batch["prompts"], batch["candidates"], start)  # warm-up
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        lps = score(model, batch["prompts"], batch["candidates"], start)
        times.append(time.perf_counter() - t0)
    json.dump({"seconds": statistics.median(times), "logprobs": lps, "threads": a.threads, "torch": torch.__version__,
               "transformers": transformers.__version__}, open(a.out, "w"))


if __name__ == "__main__":
    main()
