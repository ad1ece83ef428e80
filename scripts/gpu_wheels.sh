#!/usr/bin/env bash
# Build .whl/: the wheels seqexp needs on a GPU machine beyond what its image holds.
#
#   bash scripts/gpu_wheels.sh [FOLDER]        # default .whl (git-ignored)
#
# The lent GPU machines (device tool: nvidia-h100-x1 / nvidia-h200) run Python 3.12 on x86_64
# with JAX, PyTorch, numpy, pandas, scipy, matplotlib, h5py, ... but no Keras, Hydra, OmegaConf
# or MLflow, and reach no package registry: what is missing travels as wheels (64 MiB per call).
# This resolves Keras, Hydra and MLflow (skinny, plus SQLAlchemy and Alembic for the sqlite
# store) for that platform, drops every package the image already has (IMAGE below, read off
# the image on 2026-11-17), downloads the rest (--no-deps, pinned as resolved) and checks the
# folder stays under 64 MiB. TensorFlow is not among them: on the GPU seqexp runs with
# KERAS_BACKEND=jax or torch (scripts/gpu_run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-.whl}
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
LIMIT_MB=64

# What the image holds (packages only; any version): never carried.
IMAGE="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn
einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec
gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio
iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib
kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13
nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir
onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers
setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton
typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray
xxhash yarl zipp"

# What seqexp imports there, at the versions it is tested with here. Hydra and OmegaConf are
# taken without their dependencies: they need antlr4-python3-runtime 4.9.3, published as a
# source archive only, built here into a (pure-Python) wheel; PyYAML and packaging are in IMAGE.
installed() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null; }
NEED=("keras==$(installed keras || echo 3.15.1)"
      "mlflow-skinny==$(installed mlflow-skinny || echo 3.17.2)"
      "sqlalchemy" "alembic")
NODEPS=("hydra-core==$(installed hydra-core || echo 1.3.2)"
        "omegaconf==$(installed omegaconf || echo 2.3.0)")

TARGET=(--only-binary=:all: --python-version 3.12 --implementation cp --abi cp312)
for n in 28 27 17; do TARGET+=(--platform "manylinux_2_${n}_x86_64"); done
TARGET+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "resolving ${NEED[*]} for CPython 3.12 manylinux x86_64 ..."
"$PY" -m pip install --quiet --dry-run --ignore-installed --no-cache-dir --target "$tmp/t" \
  --report "$tmp/report.json" "${TARGET[@]}" "${NEED[@]}"

"$PY" - "$tmp/report.json" "$IMAGE" > "$tmp/pins" <<'EOF'
import json, re, sys
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
image = {norm(n) for n in sys.argv[2].split()}
for item in json.load(open(sys.argv[1]))["install"]:
    meta = item["metadata"]
    if norm(meta["name"]) not in image:
        print(f"{meta['name']}=={meta['version']}")
EOF
echo "carrying $(wc -l < "$tmp/pins") packages the image lacks: $(tr '\n' ' ' < "$tmp/pins")"

rm -rf "$OUT"
mkdir -p "$OUT"
"$PY" -m pip download --quiet --no-deps --no-cache-dir "${TARGET[@]}" -d "$OUT" -r "$tmp/pins" \
  "${NODEPS[@]}"
"$PY" -m pip wheel --quiet --no-deps --no-cache-dir -w "$OUT" "antlr4-python3-runtime==4.9.3"

size_kb=$(du -sk "$OUT" | cut -f1)
echo "$OUT: $(ls "$OUT" | wc -l) wheels, $((size_kb / 1024)) MiB ($size_kb KiB)"
if [ "$size_kb" -gt $((LIMIT_MB * 1024)) ]; then
  echo "error: $OUT is over the device tool's ${LIMIT_MB} MiB carry limit" >&2
  exit 1
fi
