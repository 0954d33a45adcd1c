#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 600), one process at a time, at
# low priority, and prints how many inputs each executed (libFuzzer's final stats).
#
#   fuzz/run.sh [SECONDS]                    every target
#   TARGETS="range plan" fuzz/run.sh 60      some of them
#   SANITIZER=none fuzz/run.sh               without AddressSanitizer
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On the stable toolchain it builds with
# RUSTC_BOOTSTRAP=1, which lets stable rustc take the sanitizer flags cargo-fuzz passes.
# Each target starts from its checked-in seeds (fuzz/seeds/<target>/) and grows a working
# corpus in fuzz/corpus/<target>/; whatever fails lands in fuzz/artifacts/<target>/, and the
# full output in fuzz/logs/<target>.log (all three ignored by git). Exits 1 when a target
# failed (a crash, a timeout, too much memory).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

seconds=${1:-600}
targets=${TARGETS:-range plan headers zip multipart s3 upstream}
sanitizer=${SANITIZER:-address}
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
# AddressSanitizer holds freed memory back (256 MB by default) to catch use after free; that
# alone took the zip target past -rss_limit_mb=512 with 35 MB live. A smaller quarantine
# keeps the RSS limit about what rangecat holds.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32}

# Per target: extra libFuzzer flags. The zip target also watches memory: an allocation sized
# by what the input claims is a finding.
flags_for() {
    case $1 in
        range) echo "-max_len=128" ;;
        plan) echo "-max_len=128" ;;
        headers) echo "-max_len=1024" ;;
        zip) echo "-max_len=131072 -rss_limit_mb=512 -malloc_limit_mb=256" ;;
        multipart) echo "-max_len=65536 -rss_limit_mb=512 -malloc_limit_mb=256" ;;
    esac
}

for target in $targets; do
    nice -n 19 cargo fuzz build --sanitizer "$sanitizer" "$target"
done

mkdir -p logs
status=0
summary=()
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    dict=()
    [[ -f dict/$target.dict ]] && dict=("-dict=dict/$target.dict")
    log=logs/$target.log
    echo "==> $target for ${seconds}s (log: fuzz/$log)"
    started=$SECONDS
    # shellcheck disable=SC2046 # the flags are words
    if nice -n 19 cargo fuzz run --sanitizer "$sanitizer" "$target" \
        "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        "${dict[@]}" $(flags_for "$target") > "$log" 2>&1; then
        result=ok
    else
        result="FAILED (see fuzz/$log and fuzz/artifacts/$target/)"
        status=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    # libFuzzer's own count of seconds, or (when it stopped on a failure) the script's.
    time=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    time=${time:-$((SECONDS - started))}
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
    corpus=$(find "corpus/$target" -type f | wc -l)
    line="$target: ${runs:-?} executions in ${time}s, peak RSS ${rss:-?} MB,"
    line+=" corpus $corpus files, $result"
    echo "$line"
    summary+=("$line")
done

echo
echo "==> summary"
printf '%s\n' "${summary[@]}"
exit "$status"
