#!/usr/bin/env bash
# The GPU check, in parts that each fit a short slot (at most 8 minutes) on a borrowed GPU machine:
# the CUDA tests, every notebook's code on the GPU, the benchmark.
#
#   scripts/gpu_check.sh list                 the parts, what each runs and its estimated time
#   scripts/gpu_check.sh PART [OUT_DIR]       one part: tests, notebooks1, notebooks2, ..., bench
#   scripts/gpu_check.sh all [OUT_DIR]        every part in turn (longer than one slot)
#   scripts/gpu_check.sh OUT_DIR              the same as `all OUT_DIR` (the earlier usage; a
#                                             folder that exists, or a path with a /)
#
# OUT_DIR defaults to $OUT, else ./gpu_check_results; parts run one after the other (or on
# different slots) may share it: each part writes its own files and summary-<part>.txt, and
# summary.txt is rebuilt from every part found there. Each part prints its own time.
#
# Parts (budgets are hard limits, enforced with timeout):
#   tests        machine.txt, the CUDA tests (every test with "cuda" in its id; 150 s) and the fused
#                kernels (60 s): about 4 minutes at most;
#   notebooksN   every notebook of book/ (found, not listed: a new page is included), packed into
#                parts of at most 240 s of estimated run time each, by the CPU times measured on
#                the project's 2-core machine (NOTEBOOK_SECONDS below; a notebook not there counts
#                60 s, the house limit for a chapter notebook); each notebook at most 150 s, a
#                part's notebooks at most 420 s in all;
#   bench        the module benchmark table, CPU and CUDA (200 s).
#
# Made for a GPU machine with Python 3.12, torch, timm and pytest but no Jupyter, nbval, myst-nb
# or network: the notebooks run through scripts/exec_notebook.py (their code cells exec'd in
# order, no kernel). The notebooks also import matplotlib, numpy, scipy and tqdm; the check lists
# any that are missing in OUT_DIR/missing_modules.txt. GPU_CHECK_SITE=DIR puts a folder of extra
# packages (e.g. a site-packages of the same Python version) on PYTHONPATH.
# Everything is written under OUT_DIR: machine.txt, tests.txt, cuda_fused.txt,
# notebooks/<name>.log and .json (+ figures), bench.txt, module_bench_gpu.json, summary.txt.
#
# Without CUDA it refuses to run, unless GPU_CHECK_ALLOW_CPU=1 (a dry run of the script itself;
# GPU_CHECK_NOTEBOOKS="path ..." limits the notebooks, GPU_CHECK_QUICK=1 gives a tiny benchmark).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"

PART="${1:-all}"
case "$PART" in
  list|all|tests|bench|notebooks[0-9]*) shift || true ;;
  */*) PART=all ;;  # the earlier usage: gpu_check.sh OUT_DIR
  *) if [ -d "$PART" ]; then PART=all; else
       echo "gpu_check: no part $PART (scripts/gpu_check.sh list; an OUT_DIR alone must exist" \
            "or contain a /)" >&2
       exit 2
     fi ;;
esac

# The notebooks' plan: "part<TAB>seconds<TAB>notebook" per line. The seconds are each notebook's
# execution on the project's 2-core CPU machine (myst-nb's "Executed notebook in" times of the
# fresh-clone CI run of 2026-12-07, load average about 4.5); GPU times are unknown.
plan() {
  (cd "$ROOT" && GPU_CHECK_NOTEBOOKS="${GPU_CHECK_NOTEBOOKS:-}" "$PY" - <<'PY'
import os
from pathlib import Path

NOTEBOOK_SECONDS = {
    "book/preface/first_attention.ipynb": 5.5,
    "book/ch1_similarity/similarity_lab.ipynb": 10.9,
    "book/ch2_se/se_lab.ipynb": 26.2,
    "book/ch3_eca/eca_lab.ipynb": 18.9,
    "book/ch4_cbam/cbam_lab.ipynb": 21.1,
    "book/ch5_coordatt/coordatt_lab.ipynb": 25.1,
    "book/ch6_self_attention/self_attention_lab.ipynb": 20.1,
    "book/ch7_networks/inside_a_cnn.ipynb": 13.9,
    "book/ch7_networks/measuring_effects.ipynb": 33.2,
    "book/ch7_networks/module_costs.ipynb": 21.1,
    "book/ch7_networks/paper_tables.ipynb": 14.8,
    # the execution cache's times of the build of 2026-12-07 06:40 (two notebooks at a time)
    "book/ch8_insert/insert_lab.ipynb": 9.0,
    "book/guide/lab_simam_gc_sk_bam.ipynb": 5.9,
    "book/guide/lab_triplet_shuffle_ema_ela.ipynb": 6.7,
    "book/guide/comparison.ipynb": 8.0,
}
DEFAULT, BUDGET = 60.0, 240.0  # a notebook not measured; estimated seconds per part
chosen = os.environ.get("GPU_CHECK_NOTEBOOKS", "").split()
notebooks = chosen or sorted(
    str(p) for p in Path("book").rglob("*.ipynb")
    if not any(part.startswith((".", "_")) for part in p.parts))
parts = []  # first fit: each notebook into the first part with room left, in path order
for nb in notebooks:
    seconds = NOTEBOOK_SECONDS.get(nb, DEFAULT)
    part = next((p for p in parts if sum(s for _, s in p) + seconds <= BUDGET), None)
    if part is None:
        part = []
        parts.append(part)
    part.append((nb, seconds))
for number, part in enumerate(parts, 1):
    for nb, seconds in part:
        print(f"notebooks{number}\t{seconds:g}\t{nb}")
PY
  )
}

PLAN="$(plan)" || { echo "gpu_check: could not plan the notebooks" >&2; exit 2; }
NOTEBOOK_PARTS="$(cut -f1 <<<"$PLAN" | uniq)"
ALL_PARTS="tests $(echo $NOTEBOOK_PARTS) bench"

if [ "$PART" = list ]; then
  echo "tests       the CUDA tests and the fused kernels (at most 150 s + 60 s)"
  for p in $NOTEBOOK_PARTS; do
    awk -F'\t' -v p="$p" '$1 == p {n++; s += $2; names = names "\n              " $3 " (" $2 " s)"}
      END {printf "%-11s %d notebooks, %.0f s on the 2-core CPU (at most 420 s)%s\n", p, n, s, names}' \
      <<<"$PLAN"
  done
  echo "bench       the module benchmark, CPU and CUDA (at most 200 s)"
  echo "run one part per slot: scripts/gpu_check.sh PART [OUT_DIR]; all of them: $ALL_PARTS"
  exit 0
fi
if [ "$PART" != all ] && ! grep -qw -- "$PART" <<<"$ALL_PARTS"; then
  echo "gpu_check: no part $PART; the parts are: $ALL_PARTS (scripts/gpu_check.sh list)" >&2
  exit 2
fi

OUT_DIR="$(mkdir -p "${1:-${OUT:-gpu_check_results}}" && cd "${1:-${OUT:-gpu_check_results}}" && pwd)"
export PYTHONPATH="$ROOT${GPU_CHECK_SITE:+:$GPU_CHECK_SITE}${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg TQDM_DISABLE=1 PYTHONDONTWRITEBYTECODE=1
cd "$ROOT"
START=$SECONDS

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

# Each part leaves OUT_DIR/summary-<part>.txt: its time, then one "step: ok|FAILED" line per step.
part_tests() {
  local rc_tests rc_fused
  # The CUDA tests: every test with "cuda" in its id, from each test file whose imports exist.
  local files
  files=$("$PY" - <<'PY'
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
  # shellcheck disable=SC2086
  timeout 150 "$PY" -m pytest -q -p no:cacheprovider -rs -k cuda $files >"$OUT_DIR/tests.txt" 2>&1
  rc_tests=$?
  # fused=True reaches a fused CUDA kernel (no math fallback allowed).
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
  rc_fused=$?
  echo "tests: $([ $rc_tests -eq 0 ] && echo ok || echo "FAILED (exit $rc_tests)") $(tail -n 1 "$OUT_DIR/tests.txt")"
  echo "cuda_fused: $([ $rc_fused -eq 0 ] && echo ok || echo "FAILED (exit $rc_fused)")"
}

# Every notebook of one part, on the GPU (get_device() picks CUDA), without a Jupyter kernel.
part_notebooks() {
  local part="$1" rc=0 nb name left start=$SECONDS
  mkdir -p "$OUT_DIR/notebooks"
  for nb in $(awk -F'\t' -v p="$part" '$1 == p {print $3}' <<<"$PLAN"); do
    name="$(basename "$nb" .ipynb)"
    left=$(( 420 - (SECONDS - start) ))
    if [ "$left" -le 10 ]; then
      echo "{\"notebook\": \"$nb\", \"error\": \"not run: the part's 420 s budget is spent\"}" \
        >"$OUT_DIR/notebooks/$name.json"
      rc=1
    else
      timeout $(( left < 150 ? left : 150 )) "$PY" scripts/exec_notebook.py "$nb" \
        --out "$OUT_DIR/notebooks" >"$OUT_DIR/notebooks/$name.log" 2>&1 || rc=1
      tail -n 1 "$OUT_DIR/notebooks/$name.log" >"$OUT_DIR/notebooks/$name.json"
    fi
    echo "notebook: $(cat "$OUT_DIR/notebooks/$name.json")"
  done
  echo "$part: $([ $rc -eq 0 ] && echo ok || echo FAILED)"
}

# The module benchmark table, CPU and CUDA, with its JSON.
part_bench() {
  local rc args=(--device all --repeats 20 --json "$OUT_DIR/module_bench_gpu.json")
  [ "${GPU_CHECK_QUICK:-0}" = 1 ] && args+=(--quick)
  timeout 200 "$PY" -m attn_lessons.bench "${args[@]}" >"$OUT_DIR/bench.txt" 2>&1
  rc=$?
  echo "bench: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")"
}

run_part() {
  local part="$1" begin=$SECONDS body
  case "$part" in
    tests) body="$(part_tests)" ;;
    bench) body="$(part_bench)" ;;
    *) body="$(part_notebooks "$part")" ;;
  esac
  {
    echo "part $part: $(( SECONDS - begin )) s, $(date -u)"
    echo "$body"
  } >"$OUT_DIR/summary-$part.txt"
  cat "$OUT_DIR/summary-$part.txt"
}

if [ "$PART" = all ]; then
  for part in $ALL_PARTS; do run_part "$part"; done
else
  run_part "$PART"
fi

{
  echo "GPU check, $(date -u): parts found in $OUT_DIR (this run: $PART, $(( SECONDS - START )) s)"
  for part in $ALL_PARTS; do
    if [ -f "$OUT_DIR/summary-$part.txt" ]; then cat "$OUT_DIR/summary-$part.txt"
    else echo "part $part: not run"; fi
  done
  [ -s "$OUT_DIR/missing_modules.txt" ] && echo "missing modules: $(tr '\n' ' ' <"$OUT_DIR/missing_modules.txt")"
} >"$OUT_DIR/summary.txt"
echo "gpu_check: part $PART took $(( SECONDS - START )) s; summary of every part in $OUT_DIR/summary.txt"
if [ "$PART" = all ]; then parts="$ALL_PARTS"; else parts="$PART"; fi
for part in $parts; do
  grep -q "FAILED" "$OUT_DIR/summary-$part.txt" && exit 1
done
exit 0
