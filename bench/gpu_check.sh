#!/usr/bin/env bash
# The device check for issue 6: packed-forward correctness on the GPU, then trained tokens/s of
# the MIND trainer vs a plain HF + peft loop (random SmolLM2-135M and Qwen2.5-1.5B shapes, bf16,
# 32 x 512 tokens). Run from the repo root; about 3-4 minutes on an H200.
#
#   OUT=/tmp/out WHEELS=.wheels bash bench/gpu_check.sh
#
# WHEELS (optional): a folder of wheels for what the GPU machine lacks (pydantic, math-verify
# and their dependencies), installed offline first. Results: $OUT/*.json and $OUT/summary.txt.
# Each measurement runs in its own process under a time limit, so one OOM loses only itself.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/mind-bench}
WHEELS=${WHEELS:-.wheels}
mkdir -p "$OUT"
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
PY=${PY:-python3}

if [ -d "$WHEELS" ]; then
  $PY -m pip install -q --no-index --find-links "$WHEELS" pydantic pyyaml math-verify \
    2>&1 | tail -n 3
fi
$PY -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers',
transformers.__version__, 'peft', peft.__version__, torch.cuda.get_device_name())"
if ! $PY -c "import mind.trainer"; then
  echo "cannot import mind.trainer: install its dependencies (see WHEELS above)"
  exit 1
fi

timeout 120 $PY -m bench.packing_check --device cuda 2>&1 | grep -v -i warn \
  | tee "$OUT/packing_check.txt"

run() {  # name, time limit in seconds, then bench arguments
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  timeout "$limit" $PY -m bench.train_throughput --device cuda --batch-seqs 32 --seq-len 512 \
    --dtype bfloat16 --steps 5 --warmup 2 --order sequential --json "$OUT/$name.json" "$@" 2>&1 \
    | grep -v -i warn | tee "$OUT/$name.txt"
  echo "   exit=${PIPESTATUS[0]}"
}

run smollm2-full-lora 90 --shape smollm2-135m --lengths full
run smollm2-varied-lora 90 --shape smollm2-135m --lengths varied
run qwen-full-lora 150 --shape qwen2.5-1.5b --lengths full
run qwen-varied-lora 150 --shape qwen2.5-1.5b --lengths varied --mind-padded
run qwen-varied-fullft 150 --shape qwen2.5-1.5b --lengths varied --finetune full

echo "== summary"
for f in "$OUT"/*.txt; do
  [ "$(basename "$f")" = summary.txt ] && continue
  echo "-- $(basename "$f" .txt)"
  grep -E "real_tok/s|error=|ratio=|packing_check|Error" "$f"
done | tee "$OUT/summary.txt"
