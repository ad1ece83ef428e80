#!/usr/bin/env bash
# On a lent GPU machine: the training benchmark and listing 6.39 end to end on one backend.
#
#   bash scripts/gpu_wheels.sh            # here, once: builds .whl/ (about 22 MiB)
#   device run, carry [".whl"], one call per backend:
#     bash scripts/gpu_run.sh jax         # then: bash scripts/gpu_run.sh torch
#
# Installs the carried wheels into /tmp/site (the image has JAX, PyTorch, numpy, pandas,
# scipy, matplotlib), links seqexp/conf (git-excluded, so it does not travel), runs
# bench/bench_train.py on the whole listing-6.39 epoch, then `seqexp experiment=book/6.39-gru`
# (20 epochs of 500 steps) on a generated full-size Jena-format record with MLflow writing to
# sqlite under $OUT, and copies bench/RESULTS.md, the store and the logs to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:?usage: gpu_run.sh jax|torch}
OUT=${OUT:-/tmp/seqexp-gpu-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 KERAS_BACKEND=$BACKEND
[ -e seqexp/conf ] || ln -s ../conf seqexp/conf
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

python3 bench/bench_train.py --steps 100 --warmup 5 --workers 4 --epoch-scale 1 \
  2>&1 | tee "$OUT/bench_$BACKEND.log"
cp bench/RESULTS.md "$OUT/RESULTS_$BACKEND.md"

python3 -c "from seqexp.data.synthetic import write_jena_csv; write_jena_csv('/tmp/jena.csv')"
start=$(date +%s)
python3 -m seqexp.cli.run experiment=book/6.39-gru dataset.path=/tmp/jena.csv trainer.workers=4 \
  "tracking.uri=sqlite:///$OUT/mlflow_$BACKEND.db" hydra.run.dir=/tmp/seqexp-run \
  2>&1 | tee "$OUT/preset_$BACKEND.log"
echo "listing 6.39, 20 epochs x 500 steps + validation, $BACKEND: $(( $(date +%s) - start )) s" \
  | tee -a "$OUT/preset_$BACKEND.log"
