#!/usr/bin/env bash
# rangecat's performance benchmark: rangecat against curl, both fetching from a local nginx,
# reported as absolute figures and ratios with PASS/FAIL for each target.
#
#   benches/bench.sh                      # the full run: a 1 GiB file, a few minutes
#   BENCH_SIZE_MIB=64 benches/bench.sh    # a quick run on a 64 MiB file
#
# Targets:
#   - streaming the whole file: throughput >= 0.95x curl's, CPU time (user+sys) <= 1.2x curl's,
#     with stdout redirected to /dev/null and with stdout a pipe (`| cat > /dev/null`);
#   - peak RSS <= 16 MiB streaming the whole file, and fetching a 64 KiB range;
#   - start-up: `rangecat --version` and a one-range fetch (`0:100`) within 2 ms of
#     `curl --version` and `curl -s -r 0-99 URL` (medians).
#
# Environment:
#   BENCH_SIZE_MIB       size of the streamed file (default 1024)
#   BENCH_RUNS           timed runs per streaming measurement; medians are reported (default 7)
#   BENCH_STARTUP_RUNS   runs per start-up measurement (default 100)
#   BENCH_SKIP_BUILD=1   use target/release/rangecat as it is
#   BENCH_RANGECAT=PATH  benchmark this binary instead (implies BENCH_SKIP_BUILD=1)
#
# Needs nginx, curl and GNU time (/usr/bin/time; Debian packages nginx-light, curl, time);
# hyperfine is used for the start-up figures when present. The file is real random bytes: a
# sparse file would be read from no disk pages at all and flatter both clients.
#
# Exit status: 0 whatever the figures (this is a report); 1 when something broke (a build, a
# tool missing, nginx not starting, a client failing or returning wrong bytes).

set -euo pipefail

size_mib=${BENCH_SIZE_MIB:-1024}
runs=${BENCH_RUNS:-7}
startup_runs=${BENCH_STARTUP_RUNS:-100}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

# --- tools -----------------------------------------------------------------------------------

find_nginx
ensure_command curl curl
ensure_command /usr/bin/time time
have_hyperfine=false
command -v hyperfine > /dev/null && have_hyperfine=true

build_release
[[ -x $rangecat ]] || die "$rangecat not found"

# --- a scratch directory, nginx, and cleaning up ---------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/rangecat-bench.XXXXXX")
nginx_pid=
cleanup() {
    if [[ -n $nginx_pid ]]; then
        kill "$nginx_pid" 2> /dev/null || true
        wait "$nginx_pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/www" "$work/nginx"
file=$work/www/big.bin
size=$((size_mib * 1024 * 1024))
say "writing $size_mib MiB of random bytes"
head -c "$size" /dev/urandom > "$file"

start_nginx() { start_static_nginx "$work/nginx" "$work/www" "$1" big.bin; }

# A port that nothing answers on now; if nginx cannot bind it after all, try another.
url=
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
        continue
    fi
    if start_nginx "$port"; then
        url=http://127.0.0.1:$port/big.bin
        break
    fi
done
[[ -n $url ]] || die "nginx did not start: $(cat "$work/nginx/stderr.log" "$work/nginx/error.log" 2> /dev/null)"
say "nginx on $url"

# --- correctness first: a benchmark of wrong output means nothing -----------------------------

range_start=$((size / 2))
range_len=65536
"$rangecat" -q "$url" | cmp -s - "$file" ||
    die "rangecat $url did not write the file's bytes (rangecat -q $url | cmp - $file)"
"$rangecat" -q "$url" "$range_start+$range_len" |
    cmp -s - <(tail -c +$((range_start + 1)) "$file" | head -c "$range_len") ||
    die "rangecat $url $range_start+$range_len did not write the right bytes"

# The checks above warmed rangecat's side (page cache, binary); warm curl's alike.
curl -s "$url" > /dev/null

# --- measurements ----------------------------------------------------------------------------


# timed NAME MODE CMD...: one run of CMD with stdout to /dev/null (MODE null) or to
# `cat > /dev/null` (MODE pipe). Appends "wall_s cpu_s maxrss_kib" to $work/NAME.
# Wall time is taken from bash's microsecond clock; CPU and RSS from GNU time (the client
# only, not `cat`).
timed() {
    local name=$1 mode=$2
    shift 2
    local t=$work/time.out err=$work/stderr.out start end status=0
    start=$EPOCHREALTIME
    case $mode in
    null) /usr/bin/time -f '%U %S %M' -o "$t" "$@" > /dev/null 2> "$err" || status=$? ;;
    pipe) /usr/bin/time -f '%U %S %M' -o "$t" "$@" 2> "$err" | cat > /dev/null || status=$? ;;
    esac
    end=$EPOCHREALTIME
    if ((status != 0)); then
        cat "$err" "$t" >&2
        die "'$*' exited with status $status"
    fi
    awk -v s="$start" -v e="$end" '{ printf "%.6f %.2f %d\n", e - s, $1 + $2, $3 }' "$t" >> "$work/$name"
}

rm -f "$work"/stream-* "$work"/range-*
for mode in null pipe; do
    say "streaming $size_mib MiB, stdout $([[ $mode == null ]] && echo '> /dev/null' || echo '| cat'), $runs runs each"
    # Alternate which client goes first, so that drift in the machine's load, and whatever
    # the previous run left behind, falls on both alike.
    for ((i = 0; i < runs; i++)); do
        if ((i % 2 == 0)); then
            timed "stream-curl-$mode" "$mode" curl -s "$url"
            timed "stream-rangecat-$mode" "$mode" "$rangecat" -q "$url"
        else
            timed "stream-rangecat-$mode" "$mode" "$rangecat" -q "$url"
            timed "stream-curl-$mode" "$mode" curl -s "$url"
        fi
    done
done
say "a 64 KiB range, $runs runs each"
for ((i = 0; i < runs; i++)); do
    timed range-curl null curl -s -r "$range_start-$((range_start + range_len - 1))" "$url"
    timed range-rangecat null "$rangecat" -q "$url" "$range_start+$range_len"
done

# column FILE N: the N-th column of FILE's lines.
column() { awk -v n="$2" '{ print $n }' "$work/$1"; }
throughput() { awk -v b="$size" -v s="$(column "$1" 1 | "${2:-median}")" 'BEGIN { printf "%.1f", b / s / 1048576 }'; }

# start-up: median seconds of each command, via hyperfine when present.
startup_median() { # NAME CMD...
    local name=$1
    shift
    if $have_hyperfine; then
        hyperfine -N --style none --warmup 5 --runs "$startup_runs" \
            --export-csv "$work/$name.csv" -- "$(printf '%q ' "$@")" > /dev/null 2>&1 ||
            die "hyperfine failed for: $*"
        awk -F, 'NR == 2 { print $4 }' "$work/$name.csv"
    else
        local i start end
        for ((i = 0; i < startup_runs; i++)); do
            start=$EPOCHREALTIME
            "$@" > /dev/null 2>&1 || die "'$*' failed"
            end=$EPOCHREALTIME
            awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f\n", e - s }'
        done | median
    fi
}
say "start-up, $startup_runs runs each$($have_hyperfine && echo ' (hyperfine)')"
startup_curl_version=$(startup_median curl-version curl --version)
startup_rangecat_version=$(startup_median rangecat-version "$rangecat" --version)
startup_curl_fetch=$(startup_median curl-fetch curl -s -r 0-99 "$url")
startup_rangecat_fetch=$(startup_median rangecat-fetch "$rangecat" -q "$url" 0:100)

# --- report ----------------------------------------------------------------------------------

rows=()
pass=0
fail=0
# row WHAT RANGECAT CURL RELATION(ratio|diff|abs) LIMIT UNIT-TEXT...
row() {
    local what=$1 ours=$2 theirs=$3 kind=$4 op=$5 limit=$6 unit=$7 fmt=$8
    local relation ok
    case $kind in
    ratio) relation=$(ratio "$ours" "$theirs") ;;
    diff) relation=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%+.2f ms", a - b }') ;;
    abs) relation="" ;;
    esac
    ok=$(awk -v a="$ours" -v b="$theirs" -v k="$kind" -v op="$op" -v l="$limit" 'BEGIN {
        v = k == "ratio" ? (b > 0 ? a / b : 0) : k == "diff" ? a - b : a
        print ((op == ">=" ? v >= l : v <= l) ? "PASS" : "FAIL")
    }')
    if [[ $ok == PASS ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    local limit_text
    case $kind in
    ratio) limit_text="$op ${limit}x" ;;
    diff) limit_text="$op +$limit ms" ;;
    abs) limit_text="$op $limit $unit" ;;
    esac
    rows+=("$(printf "%-40s %12s %12s %10s %11s  %s" "$what" \
        "$(printf "$fmt" "$ours") $unit" "$(printf "$fmt" "$theirs") $unit" "$relation" "$limit_text" "$ok")")
}

for mode in null pipe; do
    label=$([[ $mode == null ]] && echo '> /dev/null' || echo '| cat')
    row "throughput, $size_mib MiB $label" "$(throughput "stream-rangecat-$mode")" \
        "$(throughput "stream-curl-$mode")" ratio ">=" 0.95 MiB/s %.0f
    row "CPU user+sys, $size_mib MiB $label" "$(column "stream-rangecat-$mode" 2 | median)" \
        "$(column "stream-curl-$mode" 2 | median)" ratio "<=" 1.2 s %.2f
done
row "peak RSS, $size_mib MiB" "$(cat "$work"/stream-rangecat-* | awk '{ print $3 }' | maximum | kib_to_mib)" \
    "$(cat "$work"/stream-curl-* | awk '{ print $3 }' | maximum | kib_to_mib)" abs "<=" 16 MiB %.1f
row "peak RSS, 64 KiB range" "$(column range-rangecat 3 | maximum | kib_to_mib)" \
    "$(column range-curl 3 | maximum | kib_to_mib)" abs "<=" 16 MiB %.1f
ms() { awk -v s="$1" 'BEGIN { printf "%.3f", s * 1000 }'; }
row "start-up, --version" "$(ms "$startup_rangecat_version")" "$(ms "$startup_curl_version")" diff "<=" 2 ms %.2f
row "start-up, one range (0:100)" "$(ms "$startup_rangecat_fetch")" "$(ms "$startup_curl_fetch")" diff "<=" 2 ms %.2f

echo
echo "rangecat benchmark: $("$rangecat" --version 2> /dev/null | head -n 1) vs $(curl --version | head -n 1 | cut -d' ' -f1-2)"
echo "$("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //') on 127.0.0.1, sendfile on; $(nproc) CPUs; file $size_mib MiB;" \
    "medians of $runs runs (RSS: maximum), start-up: medians of $startup_runs runs"
echo
printf "%-40s %12s %12s %10s %11s  %s\n" target rangecat curl ratio limit result
for r in "${rows[@]}"; do
    echo "$r"
done
echo
echo "targets met: $pass of $((pass + fail))"
# Other work on the machine slows single runs; the best run of each client is the least
# disturbed, so its ratio shows what load did to the medians.
best=()
for mode in null pipe; do
    label=$([[ $mode == null ]] && echo '> /dev/null' || echo '| cat')
    best+=("throughput $label $(ratio "$(throughput "stream-rangecat-$mode" minimum)" "$(throughput "stream-curl-$mode" minimum)")")
    best+=("CPU $label $(ratio "$(column "stream-rangecat-$mode" 2 | minimum)" "$(column "stream-curl-$mode" 2 | minimum)")")
done
echo "best run against best run: $(IFS=,; echo "${best[*]}" | sed 's/,/, /g')"
