#!/usr/bin/env bash
# The GPU check in one command: the CUDA tests, every notebook's code on the GPU, the benchmark.
#
#   scripts/gpu_check.sh [OUT_DIR]        (default: $OUT, else ./gpu_check_results)
#
# Made for a GPU machine with Python 3.12, torch, timm and pytest but no Jupyter, nbval, myst-nb
# or network: the notebooks run through scripts/exec_notebook.py (their code cells exec'd in
# order, no kernel). The notebooks also import matplotlib, numpy, scipy and tqdm; the check lists
# any that are missing in OUT_DIR/missing_modules.txt. GPU_CHECK_SITE=DIR puts a folder of extra
# packages (e.g. a site-packages of the same Python version) on PYTHONPATH.
# Budget: about 8 minutes (tests 150 s, each notebook 150 s and all of them 270 s, bench 200 s).
# Everything is written under OUT_DIR: machine.txt, tests.txt, cuda_fused.txt,
# notebooks/<name>.log and .json (+ figures), bench.txt, module_bench_gpu.json, summary.txt.
#
# Without CUDA it refuses to run, unless GPU_CHECK_ALLOW_CPU=1 (a dry run of the script itself;
# GPU_CHECK_NOTEBOOKS="path ..." limits the notebooks, GPU_CHECK_QUICK=1 gives a tiny benchmark).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="$(mkdir -p "${1:-${OUT:-gpu_check_results}}" && cd "${1:-${OUT:-gpu_check_results}}" && pwd)"
PY="${PYTHON:-python3}"
export PYTHONPATH="$ROOT${GPU_CHECK_SITE:+:$GPU_CHECK_SITE}${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg TQDM_DISABLE=1 PYTHONDONTWRITEBYTECODE=1
cd "$ROOT"
START=$SECONDS
declare -A RC

{
  date -u; uname -a; "$PY" --version
  command -v nvidia-smi >/dev/null && nvidia-smi
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
"available", torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
} >"$OUT_DIR/machine.txt" 2>&1

if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  if [ "${GPU_CHECK_ALLOW_CPU:-0}" != 1 ]; then
    echo "no CUDA device here (see $OUT_DIR/machine.txt); set GPU_CHECK_ALLOW_CPU=1 for a dry run" >&2
    exit 2
  fi
  echo "dry run without CUDA (GPU_CHECK_ALLOW_CPU=1)" | tee -a "$OUT_DIR/machine.txt"
fi

"$PY" - >"$OUT_DIR/missing_modules.txt" <<'PY'
import importlib.util
for name in ("torch", "timm", "pytest", "matplotlib", "numpy", "scipy", "tqdm", "hypothesis",
             "jsonschema", "nbformat", "IPython"):
    if importlib.util.find_spec(name) is None:
        print(name)
PY

# 1. The CUDA tests: every test with "cuda" in its id, from each test file whose imports exist.
FILES=$("$PY" - <<'PY'
import ast, importlib.util, pathlib
for path in sorted(pathlib.Path("tests").glob("test_*.py")):
    tree = ast.parse(path.read_text())
    mods = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in tree.body
             if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    if all(m in ("tests", "attn_lessons") or importlib.util.find_spec(m) for m in mods):
        print(path)
PY
)
timeout 150 "$PY" -m pytest -q -p no:cacheprovider -rs -k cuda $FILES >"$OUT_DIR/tests.txt" 2>&1
RC[tests]=$?

# 1b. fused=True reaches a fused CUDA kernel (no math fallback allowed).
timeout 60 "$PY" - >"$OUT_DIR/cuda_fused.txt" 2>&1 <<'PY'
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from attn_lessons.self_attention import MultiHeadSelfAttention, SelfAttention, SelfAttention2d
if not torch.cuda.is_available():
    print("no CUDA: skipped"); raise SystemExit(0)
fused = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION]
for dtype in (torch.float16, torch.bfloat16, torch.float32):
    for make, shape in ((lambda: SelfAttention(64, 64, 64, fused=True), (4, 256, 64)),
                        (lambda: MultiHeadSelfAttention(64, 4, fused=True), (4, 256, 64)),
                        (lambda: SelfAttention2d(64, num_heads=2, fused=True), (4, 64, 16, 16))):
        m = make().cuda().to(dtype)
        x = torch.randn(shape, device="cuda", dtype=dtype)
        with sdpa_kernel(fused):
            out = m(x)
        m.fused = False
        err = (out.float() - m(x).float()).abs().max().item()
        print(f"{type(m).__name__:24s} {str(dtype):15s} fused kernel ok, max |fused - written| = {err:.2e}")
PY
RC[cuda_fused]=$?

# 2. Every notebook's code, on the GPU (get_device() picks CUDA), without a Jupyter kernel.
mkdir -p "$OUT_DIR/notebooks"
NOTEBOOKS="${GPU_CHECK_NOTEBOOKS:-$(find book -name '*.ipynb' -not -path '*/.*' -not -path '*/_*' | sort)}"
RC[notebooks]=0
NB_START=$SECONDS
for nb in $NOTEBOOKS; do
  name="$(basename "$nb" .ipynb)"
  left=$(( 270 - (SECONDS - NB_START) ))
  if [ "$left" -le 10 ]; then
    echo "{\"notebook\": \"$nb\", \"error\": \"not run: the notebooks' 270 s budget is spent\"}" \
      >"$OUT_DIR/notebooks/$name.json"
    RC[notebooks]=1; continue
  fi
  timeout $(( left < 150 ? left : 150 )) "$PY" scripts/exec_notebook.py "$nb" \
    --out "$OUT_DIR/notebooks" >"$OUT_DIR/notebooks/$name.log" 2>&1
  rc=$?
  tail -n 1 "$OUT_DIR/notebooks/$name.log" >"$OUT_DIR/notebooks/$name.json"
  [ $rc -ne 0 ] && RC[notebooks]=1
done

# 3. The module benchmark table, CPU and CUDA, with its JSON.
BENCH_ARGS=(--device all --repeats 20 --json "$OUT_DIR/module_bench_gpu.json")
[ "${GPU_CHECK_QUICK:-0}" = 1 ] && BENCH_ARGS+=(--quick)
timeout 200 "$PY" -m attn_lessons.bench "${BENCH_ARGS[@]}" >"$OUT_DIR/bench.txt" 2>&1
RC[bench]=$?

{
  echo "GPU check, $(date -u), $(( SECONDS - START )) s in all"
  for step in tests cuda_fused notebooks bench; do
    echo "$step: $([ "${RC[$step]}" -eq 0 ] && echo ok || echo "FAILED (exit ${RC[$step]})")"
  done
  echo "tests: $(tail -n 1 "$OUT_DIR/tests.txt")"
  for f in "$OUT_DIR"/notebooks/*.json; do [ -e "$f" ] && echo "notebook: $(cat "$f")"; done
  [ -s "$OUT_DIR/missing_modules.txt" ] && echo "missing modules: $(tr '\n' ' ' <"$OUT_DIR/missing_modules.txt")"
} >"$OUT_DIR/summary.txt"
cat "$OUT_DIR/summary.txt"
for step in tests cuda_fused notebooks bench; do [ "${RC[$step]}" -eq 0 ] || exit 1; done
exit 0
