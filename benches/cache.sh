#!/usr/bin/env bash
# The metadata cache on a slow link: `cat` of one small member of a 100,000-entry archive,
# uncached (`--no-cache`: the tail and the 5.9 MiB central directory every time) against cached
# after an `ls`, through a proxy that adds 20 ms per request and paces answers to 2 MiB/s
# (benches/delay_proxy.py) in front of a local nginx; and what a second `ls` costs.
#
#   benches/cache.sh
#
# Environment: BENCH_RUNS (default 3), BENCH_ENTRIES (default 100000), BENCH_SKIP_BUILD=1,
# BENCH_RANGECAT=PATH. Needs nginx, curl, python3. Exit status 0 whatever the figures; 1 when
# something broke.

set -euo pipefail

runs=${BENCH_RUNS:-3}
entries=${BENCH_ENTRIES:-100000}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

find_nginx
ensure_command curl curl
ensure_command python3 python3
build_release
[[ -x $rangecat ]] || die "$rangecat not found"

new_scratch cache

mkdir -p "$work/www"
say "writing an archive of $entries entries"
python3 - "$work/www/many.zip" "$entries" << 'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    for i in range(int(sys.argv[2])):
        z.writestr(f"dir{i % 100}/file-{i:06}.txt", f"member {i}\n")
PY

start_delayed_site cache "$work/www" many.zip 20 $((2 * 1024 * 1024))
# Entry 12,307 (one in the middle of a smaller archive), named as the script above names it.
pick=$((entries > 12307 ? 12307 : entries / 2))
member=$(printf 'dir%d/file-%06d.txt' $((pick % 100)) "$pick")
export RANGECAT_CACHE_DIR=$work/cache

# requests_and_bytes CMD...: "requests body-bytes" of one run, from rangecat's -v lines.
requests_and_bytes() {
    "$@" -v 2>&1 > /dev/null | awk '
        /^> / { n++ }
        /^< / { for (i = 1; i <= NF; i++) if ($i == "Content-Length:") b += $(i + 1);
                for (i = 1; i <= NF; i++) if ($i == "Content-Range:") { split($(i + 2), r, "[-/]"); b += r[2] - r[1] + 1 } }
        END { print n + 0, b + 0 }'
}

[[ $("$rangecat" -q --no-cache cat "$url" "$member") == "member $pick" ]] || die "wrong member bytes"
"$rangecat" -q ls "$url" > /dev/null
read -r ls_requests ls_bytes < <(requests_and_bytes "$rangecat" ls "$url")
read -r cat_requests cat_bytes < <(requests_and_bytes "$rangecat" cat "$url" "$member")
read -r cold_requests cold_bytes < <(requests_and_bytes "$rangecat" --no-cache cat "$url" "$member")

timed() { # NAME CMD...
    local name=$1 start end
    shift
    start=$EPOCHREALTIME
    "$@" > /dev/null
    end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }' >> "$work/$name"
}
say "$runs runs of each"
for ((i = 0; i < runs; i++)); do
    timed cold "$rangecat" -q --no-cache cat "$url" "$member"
    timed warm "$rangecat" -q cat "$url" "$member"
    timed ls2 "$rangecat" -q ls "$url"
done
med() { median < "$work/$1"; }

printf '\n%-44s %10s %10s %12s\n' "20 ms per request, 2 MiB/s" "median s" "requests" "body bytes"
printf '%-44s %10.3f %10s %12s\n' "cat one member, uncached (--no-cache)" "$(med cold)" "$cold_requests" "$cold_bytes"
printf '%-44s %10.3f %10s %12s\n' "cat one member after an ls (cached)" "$(med warm)" "$cat_requests" "$cat_bytes"
printf '%-44s %10.3f %10s %12s\n' "a second ls (304)" "$(med ls2)" "$ls_requests" "$ls_bytes"
speed=$(awk -v a="$(med cold)" -v b="$(med warm)" 'BEGIN { printf "%.1f", a / b }')
echo
printf '%-50s %8s  %s\n' "cached cat speed-up over uncached (>= 5)" "$speed" "$(awk -v v="$speed" 'BEGIN { print (v >= 5 ? "PASS" : "FAIL") }')"
printf '%-50s %8s  %s\n' "second ls: requests (1), body bytes (< 1024)" "$ls_requests, $ls_bytes" "$( ((ls_requests == 1 && ls_bytes < 1024)) && echo PASS || echo FAIL)"
printf '%-50s %8s  %s\n' "cached cat: requests (1)" "$cat_requests" "$( ((cat_requests == 1)) && echo PASS || echo FAIL)"
