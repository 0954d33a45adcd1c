#!/usr/bin/env bash
# The Python package against its peers (fsspec's HTTPFile, obstore, range-streams): requests
# (from nginx's access log), response bytes and median wall time of listing a wheel, reading
# one member, reading a Parquet footer and random 4 KiB reads, all from one nginx on
# loopback; ratios are to rangecat's time in the same run (read the ratios: the machine is
# shared).
#
#   benches/python.sh                       # the full run
#   BENCH_RUNS=3 benches/python.sh          # fewer timed runs (default 5)
#
# Environment: BENCH_RUNS (timed runs per client and operation, median reported),
# BENCH_RANDOM_READS (default 100), BENCH_QUICK=1 (leave out range-streams' listing of the
# wheel, ~3 requests per entry: 5 minutes of the run here), BENCH_VENV (default target/tmp/py-bench-venv, made once
# and reused), BENCH_SKIP_BUILD=1 (use the rangecat already installed in the virtualenv).
# Needs nginx (Debian: nginx-light), python3 with venv, cargo, and PyPI for maturin, pyarrow,
# fsspec + aiohttp, obstore, range-streams (a peer that cannot be installed is left out).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
venv=${BENCH_VENV:-$target/tmp/py-bench-venv}
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check pyarrow fsspec aiohttp requests
    for peer in obstore range-streams; do
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "$peer" ||
            echo "benches/python.sh: $peer could not be installed; left out" >&2
    done
fi
if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./python
fi
exec "$venv/bin/python" benches/python_bench.py
