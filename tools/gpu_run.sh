#!/usr/bin/env bash
# Run chapters in the gpu profile on a lent GPU machine and send the executed notebooks back.
#
# Prepared here with `.venv/bin/python tools/gpu_prepare.py` (wheels in .whl/, MNIST in .gpu/); run
# there through the device tool with carry [".whl", ".gpu"]:
#     bash tools/gpu_run.sh 06_full_model 07_sampling_fast     # chapter names, as tools/run_chapters.py
# With BENCH=1 it also runs the sampling and training benchmarks. Everything comes back as ONE file,
# $OUT/gpu_results.tar.gz (book/*.ipynb that ran, book/data/*.json, the log). 15 device-minutes per
# session: split the chapters over sessions if they do not fit.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
log="$OUT/gpu_run.log"
{
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 PIXELCNN_PROFILE=gpu
  mkdir -p /tmp/data && tar -xzf .gpu/mnist.tar.gz -C /tmp/data
  export PIXELCNN_DATA=/tmp/data
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
  python3 tools/run_chapters.py --profile gpu --timeout 900 "$@"
  status=$?
  if [ "${BENCH:-0}" = 1 ]; then
    python3 benchmarks/sampling.py || status=1
    python3 benchmarks/training.py || status=1
  fi
  echo "exit status $status"
} 2>&1 | tee "$log"
tar -czf "$OUT/gpu_results.tar.gz" book/*.ipynb book/data "$log" 2>/dev/null
rm -f "$log"
