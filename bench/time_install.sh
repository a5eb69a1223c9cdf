#!/bin/bash
# Time a from-scratch `pip install .` of one commit, as a new user runs it (bench/RESULTS.md §13):
#   bash bench/time_install.sh COMMIT [REPO]
# A fresh clone and venv in a temporary folder; build isolation on, ccache off.
set -euo pipefail
commit=${1:?usage: time_install.sh COMMIT [REPO]}
repo=$(cd "${2:-$(dirname "$0")/..}" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone -q "$repo" "$dir/src"
cd "$dir/src"
git checkout -q "$commit"
python3 -m venv .venv
. .venv/bin/activate
uptime
env -u PYTHONPATH -u CMAKE_CXX_COMPILER_LAUNCHER CCACHE_DISABLE=1 \
  /usr/bin/time -f "$commit: %e s wall, largest process %M KB" pip install -q .
uptime
