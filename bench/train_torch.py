"""PyTorch peer of bench/train (CPU) and bench/gpu (GPU): one GLAM training step done the way Lamorel does it.

    python bench/train_torch.py --model DIR --batch BATCH.json --out OUT.json [--threads N] [--reps 1]
                                [--device cpu|cuda] [--dtype fp32|bf16] [--lora RANK]

--device cuda runs it on the GPU (every tensor created there, the clock read after
torch.cuda.synchronize()); --dtype bf16 loads the model and value head in bfloat16 (the loss in fp32);
--lora RANK trains peft LoRA adapters (alpha = 2 RANK) on every projection (Llama: q/k/v/o/gate/up/down;
GPT-2: c_attn, c_proj, c_fc) and the value head instead of every weight, as Lamorel's PPO_LoRA example.

BATCH.json (written by bench/train.ts): {"prompts": [[id, ...]], "candidates": [[[id, ...]]],
"w": [...one per candidate], "u": [...one per prompt]}. OUT.json: {"seconds_per_step",
"forward_seconds", "logprobs" (of the no-grad forward), "torch", "transformers", "threads"}.

How Lamorel scores and trains (lamorel/server/llms/handlers/hf_llm.py, HF_LLM.forward with
`pre_encode_inputs=True`, and the LogScoringModuleFn / ValueHeadModuleFn / PPOUpdater of its
examples/PPO_finetuning and PPO_LoRA_finetuning), reproduced here step by step:
  1. every context minus its last token is LEFT-padded (pad id, mask 0) to the longest context - 1;
  2. all contexts of the minibatch are encoded in ONE call of the CausalLM with use_cache=True (the
     PPO updater passes minibatch_size = the number of candidates of the gradient batch, so every
     context of the batch goes in one encoder call). Lamorel calls the whole CausalLM there, so the
     logits of every context position are computed too, then unused (--context-logits last skips
     them, which Lamorel does not do);
  3. the past key/values are repeated per candidate (Lamorel stacks them into one tensor and
     torch.repeat_interleave's it by each context's number of candidates; we call
     DynamicCache.batch_repeat_interleave(K), the same copy, when every prompt has K candidates);
  4. each candidate runs as [last context token] + candidate, right-padded to the longest in the
     batch, all B*K pairs in ONE decoder call (minibatch_size = every pair), with attention_mask =
     context mask + candidate mask and output_hidden_states=True (Lamorel asks for them whenever a
     module function other than the score runs); no position_ids are passed (as in Lamorel);
  5. log_softmax over the whole vocabulary at every candidate position (materialised), gather the
     candidate's tokens, zero the pads, sum: the candidate's log-prob;
  6. the value head Linear(C,1024)-Sigmoid-Linear(1024,1024)-Sigmoid-Linear(1024,1) on the final
     hidden state at position 0 of each pair (the last context token), computed for every pair; the
     prompt's value is its first candidate's (Lamorel's output[b]["value"][0]);
  7. loss = sum(w * logprob) + sum(u * value); backward (through the repeated cache into the
     context encoding); clip_grad_norm_(0.5); torch.optim.AdamW step (lr 1e-6).
The forward alone is steps 1-6 under torch.no_grad(). The model is in eval mode (Lamorel: no dropout).
Times: one warm-up, then the median of --reps runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

PAD = 0  # Lamorel's pad id when the tokenizer has none; bench token ids are >= 1, so pads are exactly the masked positions


def repeat_cache(past, counts: list[int]) -> object:
    """Step 3: each context's keys/values repeated once per candidate."""
    if len(set(counts)) == 1:
        past.batch_repeat_interleave(counts[0])
        return past
    reps = torch.tensor(counts)
    for layer in past.layers:  # uneven K: Lamorel's repeat_interleave with per-context counts
        layer.keys = layer.keys.repeat_interleave(reps, dim=0)
        layer.values = layer.values.repeat_interleave(reps, dim=0)
    return past


def lamorel_pass(model, value_head, prompts, candidates, context_logits: str):
    """Steps 1-6: (N) candidate log-probs and (B) values."""
    M = max(len(p) for p in prompts)
    ctx_ids = [[PAD] * (M - len(p)) + p[:-1] for p in prompts]
    ctx_mask = [[0] * (M - len(p)) + [1] * (len(p) - 1) for p in prompts]
    kw = {} if context_logits == "all" else {"logits_to_keep": 1}
    enc = model(input_ids=torch.tensor(ctx_ids), attention_mask=torch.tensor(ctx_mask), use_cache=True, **kw)
    counts = [len(c) for c in candidates]
    past = repeat_cache(enc.past_key_values, counts)

    A = max(len(c) for cs in candidates for c in cs) + 1
    out_ids, out_mask, first = [], [], []
    for b, (p, cs) in enumerate(zip(prompts, candidates)):
        first.append(len(out_ids))
        for c in cs:
            seq = [p[-1]] + c
            out_ids.append(seq + [PAD] * (A - len(seq)))
            out_mask.append(ctx_mask[b] + [1] * len(seq) + [0] * (A - len(seq)))
    ids = torch.tensor(out_ids)
    dec = model(input_ids=ids, attention_mask=torch.tensor(out_mask), past_key_values=past, use_cache=True,
                output_hidden_states=True)
    logprobs = torch.log_softmax(dec.logits[:, :-1, :], dim=-1)  # (N, A-1, V) materialised
    targets = ids[:, 1:]
    tok = torch.gather(logprobs, 2, targets[:, :, None]).squeeze(-1)
    cand_logprobs = tok.masked_fill(targets == PAD, 0.0).sum(-1)
    values = value_head(dec.hidden_states[-1][:, 0, :]).squeeze(-1)  # every pair, as Lamorel
    return cand_logprobs, values[torch.tensor(first)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--context-logits", choices=["all", "last"], default="all")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--lora", type=int, default=0)
    args = ap.parse_args()
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    torch.set_default_device(args.device)  # torch.tensor(...) in lamorel_pass lands on the device

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.batch) as f:
        batch = json.load(f)
    prompts, candidates = batch["prompts"], batch["candidates"]
    w, u = torch.tensor(batch["w"]), torch.tensor(batch["u"])

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype).to(args.device)
    model.eval()
    model.config.use_cache = True
    C = model.config.hidden_size
    if args.lora > 0:
        from peft import LoraConfig, get_peft_model

        gpt2 = model.config.model_type == "gpt2"
        targets = ["c_attn", "c_proj", "c_fc"] if gpt2 else ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        model = get_peft_model(model, LoraConfig(r=args.lora, lora_alpha=2 * args.lora, target_modules=targets, fan_in_fan_out=gpt2,
                                                 lora_dropout=0.0))
        model.eval()
    value_head = torch.nn.Sequential(
        torch.nn.Linear(C, 1024), torch.nn.Sigmoid(), torch.nn.Linear(1024, 1024), torch.nn.Sigmoid(), torch.nn.Linear(1024, 1)).to(dtype)
    params = [p for p in list(model.parameters()) + list(value_head.parameters()) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-6)

    def forward():
        with torch.no_grad():
            return lamorel_pass(model, value_head, prompts, candidates, args.context_logits)

    def step():
        opt.zero_grad(set_to_none=False)
        lp, v = lamorel_pass(model, value_head, prompts, candidates, args.context_logits)
        loss = (w * lp.float()).sum() + (u * v.float()).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    def timed(f):
        first = f()  # warm-up
        times = []
        for _ in range(args.reps):
            sync()
            t0 = time.perf_counter()
            f()
            sync()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), first

    fwd, (logprobs, _) = timed(forward)
    stp, _ = timed(step)
    with open(args.out, "w") as f:
        json.dump({"seconds_per_step": stp, "forward_seconds": fwd, "logprobs": logprobs.float().cpu().tolist(), "torch": torch.__version__,
                   "transformers": transformers.__version__, "threads": torch.get_num_threads(),
                   "device": args.device, "dtype": args.dtype, "lora": args.lora}, f)


if __name__ == "__main__":
    main()
