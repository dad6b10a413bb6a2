#!/usr/bin/env bash
# Compare glassy's train-step time with the PyTorch peer (bench/peer_pytorch.py) on the models
# "paper" and "demo" of bench_train_step, at the same thread count and replica count.
#
# Usage: bench/compare_pytorch.sh [--threads N]   (default: nproc)
#
# Prints the summary lines of both programs and, per model, one line
#   ratio model=MODEL glassy_ms=.. pytorch_full_ms=.. pytorch_trimmed_ms=..
#         glassy_over_pytorch_full=.. glassy_over_pytorch_trimmed=..
# where a ratio below 1 means that glassy's step is faster. Run it on an otherwise idle
# machine: on 2 cores, one other busy process made the PyTorch steps up to 15 times slower
# because each program's threads wait on each other. The first run creates
# bench/.venv and installs PyTorch from PyPI into it (5.3 GB with torch 2.15.0, see below).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  echo "Usage: bench/compare_pytorch.sh [--threads N]"
  echo "  --threads N  threads for glassy and for PyTorch (default: nproc)"
}

threads=$(nproc)
while (($# > 0)); do
  case $1 in
    --threads)
      if (($# < 2)) || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
        echo "error: --threads needs a positive integer, got '${2:-}'" >&2
        exit 2
      fi
      threads=$2
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "error: unknown argument '$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
done

glassy_bench=build/bench/bench_train_step
if [[ ! -x $glassy_bench ]]; then
  echo "error: $glassy_bench not found." >&2
  echo "Build glassy first: cmake -S . -B build && cmake --build build -j" >&2
  exit 1
fi

# PyPI's Linux x86_64 torch wheel is a CUDA build, and it does not import without its CUDA
# packages. Tried with torch 2.15.0+cu132: `pip install --no-deps torch` plus the pure-Python
# dependencies (filelock, typing-extensions, setuptools, sympy, networkx, jinja2, fsspec)
# failed at `import torch` with "ImportError: libcufile.so.0: cannot open shared object file".
# The cause is that libtorch.so links libtorch_cuda.so, which links the CUDA libraries.
# So this installs the full dependency set. The nvidia-* packages and triton take 4 GB of the
# 5.3 GB venv, but the peer never uses a GPU. numpy only silences torch's warning that it is
# missing. Set PYTORCH_REQUIREMENT (for example torch==2.15.0) to pin the version.
venv=bench/.venv
if [[ ! -x $venv/bin/python ]]; then
  echo "creating $venv" >&2
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  echo "installing PyTorch into $venv" >&2
  "$venv/bin/python" -m pip install "${PYTORCH_REQUIREMENT:-torch}" numpy
fi

# Prints the value of KEY from a "summary ... KEY=VALUE ..." line, or nothing if it is absent.
summary_field() {
  local line=$1 key=$2
  sed -n "s/.* $key=\([^ ]*\).*/\1/p" <<<"$line"
}

# Runs a benchmark command and prints its first "summary bench=train_step" line.
run_summary() {
  local output status=0
  output=$("$@") || status=$?
  if ((status != 0)); then
    echo "error: '$*' failed with exit status $status" >&2
    return 1
  fi
  local line
  line=$(grep -m1 '^summary bench=train_step ' <<<"$output" || true)
  if [[ -z $line ]]; then
    echo "error: '$*' printed no 'summary bench=train_step' line; its output was:" >&2
    echo "$output" >&2
    return 1
  fi
  echo "$line"
}

ratio() {
  awk -v numerator="$1" -v denominator="$2" 'BEGIN { printf "%.3f", numerator / denominator }'
}

ratio_lines=()
for model in paper demo; do
  glassy_line=$(run_summary "$glassy_bench" --model "$model" --threads "$threads")
  echo "$glassy_line"
  glassy_ms=$(summary_field "$glassy_line" ms_per_step)
  if [[ -z $glassy_ms ]]; then
    echo "error: no ms_per_step in glassy's summary line: $glassy_line" >&2
    exit 1
  fi
  # The peer trains as many replicas as glassy's step did, so both times cover the same work.
  replicas=$(summary_field "$glassy_line" replicas)
  replicas=${replicas:-1}

  declare -A peer_ms=()
  for variant in full trimmed; do
    peer_line=$(run_summary "$venv/bin/python" bench/peer_pytorch.py --preset "$model" \
      --variant "$variant" --replicas "$replicas" --threads "$threads")
    echo "$peer_line"
    peer_ms[$variant]=$(summary_field "$peer_line" ms_per_step)
  done

  ratio_lines+=("ratio model=$model glassy_ms=$glassy_ms pytorch_full_ms=${peer_ms[full]}\
 pytorch_trimmed_ms=${peer_ms[trimmed]}\
 glassy_over_pytorch_full=$(ratio "$glassy_ms" "${peer_ms[full]}")\
 glassy_over_pytorch_trimmed=$(ratio "$glassy_ms" "${peer_ms[trimmed]}")")
  unset peer_ms
done

printf '%s\n' "${ratio_lines[@]}"
