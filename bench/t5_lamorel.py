"""bench/score's PyTorch peer for T5: candidate scoring the way Lamorel's seq2seq scorer does it
(lamorel server/llms/hf_llm.py with pre_encode_inputs; ../shared/reference/serving-distributed-t5.md §4):

  1. the encoder runs once per prompt over a right-padded batch of the prompts (attention mask);
  2. its output is repeated once per candidate (repeat_interleave: a copy per candidate);
  3. the decoder runs on a padded batch of [decoder_start] + candidate tokens, cross-attending to the copies;
  4. a full log-softmax over the vocabulary at every decoder position, gathered at the candidate's tokens.

    python bench/t5_lamorel.py --model DIR --batch in.json --out out.json [--threads N] [--reps N] [--train]

in.json: {"prompts": [[ids]], "candidates": [[[ids]]]} (token ids, as glam scores them); out.json: seconds per
batch (median of --reps after one warm-up), the log-probs (float32 model), torch and transformers versions.
--train (bench/train's peer; in.json also has w (N) and u (B)): one PPO-style step the same way, with GLAM's value
head (C -> 1024 -> sigmoid -> 1024 -> sigmoid -> 1) on the decoder's hidden state at position 0:
zero_grad, L = sum w.logprob + sum u.value, backward, clip_grad_norm_(0.5), AdamW(lr 1e-6); out.json gets
seconds_per_step and forward_seconds (the scoring pass alone, no grad) in bench/train_torch.py's fields.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import T5ForConditionalGeneration


def lamorel_forward(model, prompts, candidates, start: int):
    """Log-probs (N) and the decoder's last hidden states (N, 1 + A, C), Lamorel's way."""
    P = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), P, dtype=torch.long)
    mask = torch.zeros(len(prompts), P, dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, :len(p)] = torch.tensor(p)
        mask[b, :len(p)] = 1
    dev = model.device  # --device cuda: bench/gpu's T5 section
    ids, mask = ids.to(dev), mask.to(dev)
    enc = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    counts = torch.tensor([len(c) for c in candidates], device=dev)
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
    dec, dmask = dec.to(dev), dmask.to(dev)
    out = model(encoder_outputs=(enc_rep,), attention_mask=mask_rep, decoder_input_ids=dec, decoder_attention_mask=dmask,
                output_hidden_states=True)
    lp = torch.log_softmax(out.logits.float(), dim=-1)
    res = torch.stack([lp[k, torch.arange(len(c), device=dev), torch.tensor(c, device=dev)].sum() for k, c in enumerate(flat)])
    return res, out.decoder_hidden_states[-1]


@torch.no_grad()
def score(model, prompts, candidates, start: int) -> list[float]:
    return lamorel_forward(model, prompts, candidates, start)[0].tolist()


def train_step(model, vh, opt, batch, start: int) -> None:
    opt.zero_grad(set_to_none=True)
    lps, hid = lamorel_forward(model, batch["prompts"], batch["candidates"], start)
    first = torch.tensor([0] + [len(c) for c in batch["candidates"]]).cumsum(0)[:-1]  # each prompt's first candidate
    values = vh(hid[first, 0]).squeeze(-1)
    L = (torch.tensor(batch["w"]) * lps).sum() + (torch.tensor(batch["u"]) * values).sum()
    L.backward()
    torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(vh.parameters()), 0.5)
    opt.step()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--device", default="cpu")  # cuda: bench/gpu's T5 section (scoring only)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    model = T5ForConditionalGeneration.from_pretrained(a.model, dtype=dtype).to(a.device).eval()
    batch = json.load(open(a.batch))
    start = model.config.decoder_start_token_id
    if a.train:
        C = model.config.d_model
        vh = torch.nn.Sequential(torch.nn.Linear(C, 1024), torch.nn.Sigmoid(), torch.nn.Linear(1024, 1024), torch.nn.Sigmoid(),
                                 torch.nn.Linear(1024, 1))
        opt = torch.optim.AdamW(list(model.parameters()) + list(vh.parameters()), lr=1e-6)
        # eval(): no dropout (T5's attention applies config.dropout_rate itself in train mode), the same
        # computation as glam's; autograd works the same
        t0 = time.perf_counter()
        lps = score(model, batch["prompts"], batch["candidates"], start)
        fwd = time.perf_counter() - t0
        train_step(model, vh, opt, batch, start)  # warm-up
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            train_step(model, vh, opt, batch, start)
            times.append(time.perf_counter() - t0)
        json.dump({"seconds_per_step": statistics.median(times), "forward_seconds": fwd, "logprobs": lps, "threads": a.threads,
                   "torch": torch.__version__, "transformers": transformers.__version__}, open(a.out, "w"))
        return
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
