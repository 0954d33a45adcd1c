#!/usr/bin/env bash
# Many ranges over a long round trip: rangecat -j 1, -j 8 and --multipart against curl -Z
# (8 parallel transfers) and curl's multi-range requests, all through a proxy that adds 20 ms
# to every request (benches/delay_proxy.py) in front of a local nginx; and 300 of the ranges
# with --multipart from nginx and from Apache httpd (MaxRanges 200 by default), each behind
# its own such proxy, with the requests from each server's access log. Reported as medians and
# ratios, with PASS/FAIL for the targets of README "Benchmarks".
#
#   benches/ranges.sh
#
# Environment: BENCH_RUNS (default 5), BENCH_DELAY_MS (default 20), BENCH_SKIP_BUILD=1,
# BENCH_RANGECAT=PATH. Needs nginx, curl, python3 and GNU time; the Apache rows need Debian's
# apache2 (skipped, with a message, without it). Exit status 0 whatever the figures; 1 when
# something broke (wrong bytes above all).

set -euo pipefail

runs=${BENCH_RUNS:-5}
delay_ms=${BENCH_DELAY_MS:-20}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

find_nginx
ensure_command curl curl
ensure_command python3 python3
ensure_command /usr/bin/time time
build_release
[[ -x $rangecat ]] || die "$rangecat not found"

new_scratch ranges

mkdir -p "$work/www"
file=$work/www/f.bin
head -c $((64 * 1024 * 1024)) /dev/urandom > "$file"

start_delayed_site ranges "$work/www" f.bin "$delay_ms" "" "$work/nginx-access.log"
apache=
if [[ -x /usr/sbin/apache2 ]]; then
    # Apache serves as www-data when started by root.
    chmod a+rx "$work" "$work/www"
    start_delayed_apache "$work/www" f.bin "$delay_ms" "$work/apache-access.log"
    apache=1
else
    say "no /usr/sbin/apache2: the Apache rows are skipped (apt-get install apache2)"
fi

# 500 scattered 4 KiB ranges, ascending, and 3 of 64 KiB.
mapfile -t many < <(awk 'BEGIN { srand(7); for (i = 0; i < 500; i++) { s = i * 131072 + int(rand() * 100000); print s ":" s + 4096 } }')
few=(1000000:1065536 20000000:20065536 40000000:40065536)

# want RANGES...: the expected bytes, from the file itself.
want() {
    python3 -c 'import sys
f, out = open(sys.argv[1], "rb"), sys.stdout.buffer
for r in sys.argv[2:]:
    a, b = map(int, r.split(":"))
    f.seek(a)
    out.write(f.read(b - a))' "$file" "$@"
}
want "${many[@]}" > "$work/many.want"
# The 300 ranges of the Apache and nginx rows: the first 300 of the 500.
some=("${many[@]:0:300}")
want "${some[@]}" > "$work/some.want"
want "${few[@]}" > "$work/few.want"

# curl's inputs: a config of 500 transfers for -Z, and multi-range lists (two for the 500:
# nginx takes a header line of at most 8 KiB).
for r in "${many[@]}"; do
    printf 'url = "%s"\nrange = %d-%d\noutput = "/dev/null"\n' "$url" "${r%%:*}" $((${r##*:} - 1))
done > "$work/parallel.curl"
curl_list() { local r out=; for r in "$@"; do out+="${r%%:*}-$((${r##*:} - 1)),"; done; echo "${out%,}"; }
half1=$(curl_list "${many[@]:0:250}")
half2=$(curl_list "${many[@]:250}")
few_list=$(curl_list "${few[@]}")

# Correctness: rangecat's bytes must be the file's.
for opts in "-j 1" "-j 8" "--multipart" "-j 3" "--multipart -j 8"; do
    # shellcheck disable=SC2086
    "$rangecat" -q $opts "$url" "${many[@]}" | cmp -s - "$work/many.want" || die "rangecat $opts: wrong bytes for 500 ranges"
    # shellcheck disable=SC2086
    "$rangecat" -q $opts "$url" "${few[@]}" | cmp -s - "$work/few.want" || die "rangecat $opts: wrong bytes for 3 ranges"
done

# requests LOG CMD...: runs CMD once (its output checked against some.want) and prints how
# many lines it added to the access log LOG. nginx and Apache log a request once answered,
# and rangecat exits after the last answer: a short wait lets the last line land.
requests() {
    local log=$1 before
    shift
    before=$(wc -l < "$log")
    "$@" | cmp -s - "$work/some.want" || die "'$*': wrong bytes for 300 ranges"
    sleep 0.2
    echo $(($(wc -l < "$log") - before))
}
some_nginx_requests=$(requests "$work/nginx-access.log" "$rangecat" -q --multipart "$url" "${some[@]}")
if [[ -n $apache ]]; then
    some_apache_requests=$(requests "$work/apache-access.log" "$rangecat" -q --multipart "$apache_url" "${some[@]}")
fi

# timed NAME CMD...: appends "wall_s maxrss_kib" of one run to $work/NAME.
timed() {
    local name=$1
    shift
    local start end
    start=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$work/time.out" "$@" > /dev/null 2> "$work/err.out" || { cat "$work/err.out" >&2; die "'$*' failed"; }
    end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" '{ printf "%.4f %d\n", e - s, $1 }' "$work/time.out" >> "$work/$name"
}
curl_two() { curl -s -r "$half1" "$url" && curl -s -r "$half2" "$url"; }

say "$runs runs of each"
for ((i = 0; i < runs; i++)); do
    timed many-j1 "$rangecat" -q -j 1 "$url" "${many[@]}"
    timed many-j8 "$rangecat" -q -j 8 "$url" "${many[@]}"
    timed many-multipart "$rangecat" -q --multipart "$url" "${many[@]}"
    timed many-multipart-j8 "$rangecat" -q --multipart -j 8 "$url" "${many[@]}"
    timed many-curl-Z curl -s -Z --parallel-max 8 -K "$work/parallel.curl"
    timed many-curl-multi bash -c "$(declare -f curl_two); half1='$half1' half2='$half2' url='$url' curl_two"
    timed few-multipart "$rangecat" -q --multipart "$url" "${few[@]}"
    timed few-j3 "$rangecat" -q -j 3 "$url" "${few[@]}"
    timed few-j1 "$rangecat" -q "$url" "${few[@]}"
    timed few-curl-multi curl -s -r "$few_list" "$url"
    timed some-multipart-nginx "$rangecat" -q --multipart "$url" "${some[@]}"
    [[ -z $apache ]] || timed some-multipart-apache "$rangecat" -q --multipart "$apache_url" "${some[@]}"
done

med() { awk '{ print $1 }' "$work/$1" | median; }
rss() { awk '{ print $2 }' "$work/$1" | maximum; }
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print (ok ? "PASS" : "FAIL") }'; }

printf '\n%-44s %10s %12s\n' "operation ($delay_ms ms per request)" "median s" "peak RSS MiB"
for name in many-j1 many-j8 many-multipart many-multipart-j8 many-curl-Z many-curl-multi few-j1 few-j3 few-multipart few-curl-multi; do
    printf '%-44s %10.3f %12s\n' "$name" "$(med "$name")" "$(rss "$name" | kib_to_mib)"
done
echo
speed_j8=$(ratio many-j1 many-j8)
speed_mp=$(ratio many-j1 many-multipart)
printf '%-58s %6s  %s\n' "500 ranges: -j 8 speed-up over -j 1 (>= 6)" "$speed_j8" "$(verdict "$speed_j8" '>=' 6)"
printf '%-58s %6s  %s\n' "500 ranges: -j 8 time / curl -Z 8 (<= 1.0)" "$(ratio many-j8 many-curl-Z)" "$(verdict "$(ratio many-j8 many-curl-Z)" '<=' 1)"
printf '%-58s %6s  %s\n' "500 ranges: --multipart speed-up over -j 1 (>= 50)" "$speed_mp" "$(verdict "$speed_mp" '>=' 50)"
printf '%-58s %6s  %s\n' "500 ranges: --multipart time / curl multi-range (<= 1.5)" "$(ratio many-multipart many-curl-multi)" "$(verdict "$(ratio many-multipart many-curl-multi)" '<=' 1.5)"
printf '%-58s %6s  %s\n' "3 ranges: --multipart time / curl multi-range (<= 1.2)" "$(ratio few-multipart few-curl-multi)" "$(verdict "$(ratio few-multipart few-curl-multi)" '<=' 1.2)"
printf '%-58s %6s  %s\n' "3 ranges: -j 3 time / curl multi-range (<= 1.5)" "$(ratio few-j3 few-curl-multi)" "$(verdict "$(ratio few-j3 few-curl-multi)" '<=' 1.5)"
peak=$(rss many-j8 | kib_to_mib)
printf '%-58s %6s  %s\n' "peak RSS with -j 8, MiB (<= 64)" "$peak" "$(verdict "$peak" '<=' 64)"

echo
printf '%-44s %10s %10s\n' "300 ranges, --multipart ($delay_ms ms per request)" "median s" "requests"
printf '%-44s %10.3f %10s\n' "nginx" "$(med some-multipart-nginx)" "$some_nginx_requests"
if [[ -n $apache ]]; then
    printf '%-44s %10.3f %10s\n' "Apache httpd (MaxRanges 200)" "$(med some-multipart-apache)" "$some_apache_requests"
    printf '%-58s %6s  %s\n' "300 ranges from Apache: requests (<= 4)" "$some_apache_requests" "$(verdict "$some_apache_requests" '<=' 4)"
    printf '%-58s %6s  %s\n' "300 ranges: Apache time / nginx time" "$(ratio some-multipart-apache some-multipart-nginx)" ""
fi
