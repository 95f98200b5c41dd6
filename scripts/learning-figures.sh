#!/usr/bin/env bash
# The README's learning figures, reproduced with the CLI the README shows: for each seed, the default
# `glam train` (built-in model, preset small, 60 updates = 30,720 frames), then `glam eval` of its
# final/ on 1,000 held-out episodes, greedy and sampled; and the untrained built-in model on the same
# episodes with the same prompts.
#
#   npm run build && scripts/learning-figures.sh OUT_DIR [SEED...]     (default seeds: 0 1 2)
#
# Writes OUT_DIR/seed-S/ (the run), OUT_DIR/seed-S.{train.log,greedy.json,sampled.json,time}, the
# untrained model's OUT_DIR/untrained.{greedy,sampled}.json, and prints a table (also OUT_DIR/table.md).
#
# Subtle:
# - Held-out episodes: `glam eval` seeds its 32 envs 1000000 + i (each env then continues its own random
#   stream) and its action sampler 1000000; training seeds its envs 100·seed + i. The first 1,000
#   episodes to start count. The same --seed gives the same episodes to every policy.
# - The untrained model is evaluated as a copy of the built-in model placed inside the first run's
#   directory (OUT_DIR/seed-S/untrained): `glam eval` then uses that run's level and prompt memory (the
#   small preset's 1 observation, no actions), exactly the prompts the trained policy sees. The training
#   run starts from that same model (the built-in one is made from a fixed seed).
# - Runs one seed after another (each uses every core); run it under `nice` on a shared machine.
set -euo pipefail

out=${1:?usage: scripts/learning-figures.sh OUT_DIR [SEED...]}
shift
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1 2)
episodes=${EPISODES:-1000}
here=$(cd "$(dirname "$0")/.." && pwd)
glam() { node "$here/dist/lib/cli/main.js" "$@"; }
mkdir -p "$out"

timed() { # timed NAME CMD...: runs CMD, records its wall seconds in $out/NAME.time
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@"
  echo "$(date +%s.%N) - $t0" | bc > "$out/$name.time"
}

for s in "${seeds[@]}"; do
  run="$out/seed-$s"
  if [ ! -f "$run/final/config.json" ]; then
    rm -rf "$run"
    echo "seed $s: glam train --seed $s --run $run" >&2
    timed "seed-$s.train" glam train --seed "$s" --run "$run" > "$out/seed-$s.train.log" 2>&1
  fi
  for mode in greedy sampled; do
    [ -s "$out/seed-$s.$mode.json" ] && continue
    flag=(); [ "$mode" = greedy ] && flag=(--greedy)
    echo "seed $s: glam eval --policy $run/final --episodes $episodes ${flag[*]} --json" >&2
    timed "seed-$s.$mode" glam eval --policy "$run/final" --episodes "$episodes" "${flag[@]}" --json > "$out/seed-$s.$mode.json.tmp"
    mv "$out/seed-$s.$mode.json.tmp" "$out/seed-$s.$mode.json"
  done
  if [ ! -s "$out/untrained.sampled.json" ]; then
    model=$(jq -r .model "$run/config.json")
    rm -rf "$run/untrained" && cp -r "$model" "$run/untrained"
    for mode in greedy sampled; do
      flag=(); [ "$mode" = greedy ] && flag=(--greedy)
      echo "untrained: glam eval --policy $run/untrained --episodes $episodes ${flag[*]} --json" >&2
      timed "untrained.$mode" glam eval --policy "$run/untrained" --episodes "$episodes" "${flag[@]}" --json > "$out/untrained.$mode.json.tmp"
      mv "$out/untrained.$mode.json.tmp" "$out/untrained.$mode.json"
    done
  fi
done

rate() { # rate FILE: "0.985 [0.975, 0.991]" from a `glam eval --json` result
  jq -r '[.successRate, .ci95[0], .ci95[1]] | @tsv' "$1" | xargs printf '%.3f [%.3f, %.3f]'
}
row() { # row LABEL PREFIX
  local t=-
  [ -f "$out/$2.train.time" ] && t=$(printf '%.0f s' "$(cat "$out/$2.train.time")")
  printf '| %s | %s | %s | %s |\n' "$1" "$(rate "$out/$2.greedy.json")" "$(rate "$out/$2.sampled.json")" "$t"
}
{
  echo "| policy | greedy success [95% CI] | sampled success [95% CI] | training wall time |"
  echo "|---|---|---|---|"
  row "untrained built-in model" untrained
  for s in "${seeds[@]}"; do row "\`glam train --seed $s\`" "seed-$s"; done
} | tee "$out/table.md"
