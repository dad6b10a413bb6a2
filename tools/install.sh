#!/usr/bin/env bash
# Installs everything glassy needs on a fresh Debian 12 machine and builds it.
#   Debian packages: the compiler toolchain, CMake, OpenMP, fmt, CLI11, nlohmann-json, Catch2
#   .venv/:          a Python virtual environment with numpy (tests read .npy files with it)
#                    and matplotlib (tools/plot_map.py and tools/plot_reproduction.py draw
#                    the entropy maps and the figures of glassy reproduce and analyze)
# The CUDA backend is built where nvcc is on the PATH (the CUDA Toolkit is not installed here).
# Usage: tools/install.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake libomp-dev libfmt-dev libcli11-dev nlohmann-json3-dev catch2
          python3 python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ] ||
   ! .venv/bin/python -c "import numpy, matplotlib" >/dev/null 2>&1; then
  echo "install.sh: making .venv with numpy and matplotlib" >&2
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet numpy matplotlib
fi

if [ "${1:-}" != "--no-build" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$(nproc)"
fi
