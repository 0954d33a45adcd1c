#!/usr/bin/env bash
# rangecat's zip benchmark: `rangecat ls`, `cat` and `x` against ripunzip (crates.io) and
# Python's remotezip and unzip-http (PyPI), all reading the same archives from one local nginx,
# reported as absolute figures, ratios, requests and bytes, with PASS/FAIL for each target.
#
#   benches/zip.sh                                        # the full run, every target
#   BENCH_RUNS=3 BENCH_BIG_MIB=32 BENCH_PEERS=ripunzip benches/zip.sh     # a quick look
#
# Targets, all measured in this one run:
#   - `ls` of a 100,000-entry archive (a central directory of ~7.6 MB): 2 requests; response
#     bodies <= central directory + 66 KiB; wall time <= 0.5x the best of `ripunzip list-uri`
#     and `remotezip -l`; peak RSS <= 32 MiB;
#   - `cat` of one small member of that archive: 3 requests in all; wall time <= 0.5x
#     `ripunzip unzip-uri` of the same member;
#   - `cat` of a 200 MiB deflated member: wall time <= 0.7x `ripunzip unzip-uri` of it; peak
#     RSS <= 32 MiB;
#   - `x -j 4` of a 1,000-member archive (members of 4-64 KiB), extracted into tmpfs: at most 4
#     requests; wall time <= 0.6x `ripunzip unzip-uri` of all of it.
# unzip-http's figures, and remotezip's where no target names it, are there for reference.
#
# How: every client writes what it extracts into a fresh directory on tmpfs (/dev/shm) where
# there is one, else under the scratch directory (`rangecat cat` and `unzip-http -o` by stdout redirected to a file there; listings go to a file
# too). Each client runs once untimed first: its output is checked (names, SHA-256 of members,
# CRC-32 of every extracted file) and its requests and response body bytes are counted from
# nginx's access log (`$request_method $http_range $status $body_bytes_sent`). Then BENCH_RUNS
# timed runs each (BENCH_REF_RUNS for reference figures), the clients' order rotating from run
# to run; wall time is the median, taken
# with bash's microsecond clock around `/usr/bin/time -f '%e %M'` (whose %e has 10 ms steps,
# too coarse for a listing), and peak RSS is the maximum of GNU time's %M over the runs.
#
# Environment:
#   BENCH_RUNS             timed runs per client and operation; medians reported (default 5)
#   BENCH_REF_RUNS         timed runs where no target depends on the figure: unzip-http, and
#                          remotezip but for `ls` (default 3; the Python clients are slow)
#   BENCH_ENTRIES          entries in the listing archive (default 100000)
#   BENCH_BIG_MIB          size of the big deflated member in MiB (default 200)
#   BENCH_MEMBERS          members in the archive for `x` (default 1000)
#   BENCH_JOBS             `rangecat x -j` (default 4)
#   BENCH_PEERS            peers to run, of: ripunzip remotezip unzip-http (default all three)
#   BENCH_CACHE            where peers and archives are kept between runs
#                          (default ~/.cache/rangecat-bench)
#   BENCH_RIPUNZIP=PATH    use this ripunzip instead of building one into BENCH_CACHE
#   BENCH_RIPUNZIP_VERSION the ripunzip to `cargo install` when BENCH_CACHE has none (2.0.3)
#   BENCH_NO_INSTALL=1     never install a peer: run without whichever is missing
#   BENCH_SKIP_BUILD=1     use target/release/rangecat as it is
#   BENCH_RANGECAT=PATH    benchmark this binary instead (implies BENCH_SKIP_BUILD=1)
#
# Needs nginx, curl, python3 (with venv) and GNU time (Debian: nginx-light, curl, python3-venv,
# time). The first run builds ripunzip with `cargo install -j 1` (minutes on 2 cores), installs
# remotezip and unzip-http into a venv, and writes the archives (~120 MiB, half a minute), all in
# BENCH_CACHE; later runs take 2-4 minutes. A peer that cannot be installed or that fails is
# left out with a note, and the targets measured against it are SKIPped.
#
# Exit status: 0 whatever the figures (this is a report); 1 when something broke (a build,
# a tool missing, nginx not starting, rangecat failing or writing wrong bytes).

set -euo pipefail

runs=${BENCH_RUNS:-5}
ref_runs=${BENCH_REF_RUNS:-3}
((ref_runs <= runs)) || ref_runs=$runs
entries=${BENCH_ENTRIES:-100000}
big_mib=${BENCH_BIG_MIB:-200}
members=${BENCH_MEMBERS:-1000}
jobs=${BENCH_JOBS:-4}
read -r -a want_peers <<< "${BENCH_PEERS-ripunzip remotezip unzip-http}"
cache=${BENCH_CACHE:-$HOME/.cache/rangecat-bench}
ripunzip_version=${BENCH_RIPUNZIP_VERSION:-2.0.3}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
archives_py=$repo/benches/zip/archives.py

# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"
notes=()
note() {
    notes+=("$*")
    say "note: $*"
}

# --- tools -----------------------------------------------------------------------------------

find_nginx
ensure_command curl curl
command -v python3 > /dev/null || die "python3 not found (apt-get install python3)"
ensure_command /usr/bin/time time

build_release
[[ -x $rangecat ]] || die "$rangecat not found"

mkdir -p "$cache"
peers=()
ripunzip= remotezip= unzip_http=
for peer in "${want_peers[@]}"; do
    case $peer in
    ripunzip)
        ripunzip=${BENCH_RIPUNZIP:-$cache/ripunzip/bin/ripunzip}
        if [[ ! -x $ripunzip && -z ${BENCH_RIPUNZIP:-} && ${BENCH_NO_INSTALL:-} != 1 ]]; then
            say "building ripunzip $ripunzip_version into $cache/ripunzip (cargo install -j 1: minutes)"
            cargo install --quiet --locked ripunzip --version "$ripunzip_version" \
                --root "$cache/ripunzip" -j 1 > "$cache/ripunzip-install.log" 2>&1 ||
                cargo install --quiet ripunzip --version "$ripunzip_version" \
                    --root "$cache/ripunzip" -j 1 >> "$cache/ripunzip-install.log" 2>&1 ||
                note "ripunzip left out: cargo install failed ($(tail -n 1 "$cache/ripunzip-install.log"); see $cache/ripunzip-install.log)"
        fi
        if [[ -x $ripunzip ]]; then peers+=(ripunzip); else
            [[ " ${notes[*]} " == *"ripunzip left out"* ]] || note "ripunzip left out: $ripunzip not found"
            ripunzip=
        fi
        ;;
    remotezip | unzip-http)
        bin=$cache/venv/bin/$([[ $peer == remotezip ]] && echo remotezip || echo unzip_http)
        if [[ ! -x $bin && ${BENCH_NO_INSTALL:-} != 1 ]]; then
            say "installing $peer into $cache/venv"
            { [[ -x $cache/venv/bin/pip ]] || python3 -m venv "$cache/venv"; } > "$cache/$peer-install.log" 2>&1 &&
                "$cache/venv/bin/pip" install --quiet "$peer" >> "$cache/$peer-install.log" 2>&1 ||
                note "$peer left out: install failed ($(tail -n 1 "$cache/$peer-install.log"))"
        fi
        if [[ -x $bin ]]; then
            peers+=("$peer")
            if [[ $peer == remotezip ]]; then remotezip=$bin; else unzip_http=$bin; fi
        else
            [[ " ${notes[*]} " == *"$peer left out"* ]] || note "$peer left out: $bin not found"
        fi
        ;;
    *) die "BENCH_PEERS: unknown peer '$peer' (ripunzip, remotezip, unzip-http)" ;;
    esac
done

# --- archives --------------------------------------------------------------------------------

www=$cache/archives
python3 "$archives_py" make "$www" "$entries" "$big_mib" "$members" || die "making the archives failed"
many=many-$entries big=big-$big_mib files=files-$members
load_env() { # PREFIX NAME: PREFIX_KEY=value for each line of NAME.env
    local key value
    while IFS='=' read -r key value; do
        eval "$1_$key=$value"
    done < "$www/$2.env"
}
load_env many "$many"
load_env big "$big"
load_env files "$files"

# --- a scratch directory, nginx, and cleaning up ---------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/rangecat-zip-bench.XXXXXX")
# What the clients write goes to tmpfs where there is one: on a disk, the journal work that
# deleting the previous run's thousand files leaves behind dominates `x` (the tools swapped
# places between runs).
shm=
if [[ -d /dev/shm && -w /dev/shm ]]; then shm=$(mktemp -d /dev/shm/rangecat-zip-bench.XXXXXX); fi
outdir=${shm:-$work}/out
nginx_pid=
cleanup() {
    if [[ -n $nginx_pid ]]; then
        kill "$nginx_pid" 2> /dev/null || true
        wait "$nginx_pid" 2> /dev/null || true
    fi
    rm -rf "$work" ${shm:+"$shm"}
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/nginx" "$work/data"
log=$work/nginx/access.log

base=
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
        continue
    fi
    if start_static_nginx "$work/nginx" "$www" "$port" "$many.zip" "$log"; then
        base=http://127.0.0.1:$port
        break
    fi
done
[[ -n $base ]] || die "nginx did not start: $(cat "$work/nginx/stderr.log" "$work/nginx/error.log" 2> /dev/null)"
say "nginx on $base, serving $www"

# --- the operations --------------------------------------------------------------------------

# spec OP TOOL DIR: sets `cmd` to the command line of OP by TOOL writing into DIR, `out` to the
# file its stdout goes to, and `result` to the file or directory to check afterwards. Fails
# when TOOL has no such operation.
spec() {
    local op=$1 tool=$2 dir=$3 url member
    out=$dir/stdout
    case $op in
    ls) url=$base/$many.zip ;;
    cat-small) url=$base/$many.zip member=$many_member ;;
    cat-big) url=$base/$big.zip member=$big_member ;;
    x) url=$base/$files.zip ;;
    esac
    case $op/$tool in
    ls/rangecat) cmd=("$rangecat" ls -q --no-cache "$url") ;;
    ls/ripunzip) cmd=("$ripunzip" list-uri "$url") ;;
    ls/remotezip) cmd=("$remotezip" -l "$url") ;;
    ls/unzip-http) cmd=("$unzip_http" -l "$url") ;; # it lists on stderr
    cat-*/rangecat) cmd=("$rangecat" cat -q --no-cache "$url" "$member") ;;
    cat-*/ripunzip) cmd=("$ripunzip" unzip-uri -d "$dir" "$url" "$member") ;;
    cat-*/remotezip) cmd=("$remotezip" -d "$dir" "$url" "$member") ;;
    cat-*/unzip-http) cmd=("$unzip_http" -o "$url" "$member") ;;
    x/rangecat) cmd=("$rangecat" x -q --no-cache "$url" -C "$dir" -j "$jobs") ;;
    x/ripunzip) cmd=("$ripunzip" unzip-uri -d "$dir" "$url") ;;
    x/remotezip) cmd=("$remotezip" -d "$dir" "$url") ;;
    x/unzip-http) cmd=(env -C "$dir" "$unzip_http" -f "$url" '*') ;;
    *) return 1 ;;
    esac
    case $op/$tool in
    ls/*) result=$out ;;
    cat-*/rangecat | cat-*/unzip-http) result=$out ;;
    cat-*) result=$dir/$member ;;
    x/*) result=$dir ;;
    esac
}

# check OP TOOL DIR: whether what TOOL wrote for OP is right.
check() {
    local op=$1 tool=$2 dir=$3 want
    spec "$op" "$tool" "$dir"
    case $op in
    ls)
        if [[ $tool == rangecat ]]; then
            cmp -s "$result" "$www/$many.names"
        else # a peer's own format: both the first and the last name must be in it
            cat "$result" "$dir/stderr" > "$dir/listing"
            grep -qF "$(head -n 1 "$www/$many.names")" "$dir/listing" &&
                grep -qF "$(tail -n 1 "$www/$many.names")" "$dir/listing"
        fi
        ;;
    cat-*)
        [[ $op == cat-small ]] && want=$many_member_sha256 || want=$big_member_sha256
        [[ -f $result && $(sha256sum < "$result" | cut -d' ' -f1) == "$want" ]]
        ;;
    x) python3 "$archives_py" verify-tree "$www/$files.zip" "$result" 2> "$dir/verify.log" ;;
    esac
}

log_lines() { if [[ -f $log ]]; then wc -l < "$log"; else echo 0; fi; }
# Wait for nginx to log a request whose client hung up early (it logs on noticing).
settle_log() {
    local prev=-1 cur i
    for ((i = 0; i < 40; i++)); do
        cur=$(log_lines)
        [[ $cur == "$prev" ]] && return 0
        prev=$cur
        sleep 0.05
    done
}

# once OP TOOL: one run of OP by TOOL into a fresh directory; appends "wall_s %e rss_kib" to
# $work/data/OP-TOOL. Fails (stderr kept in $outdir/stderr) when TOOL does.
once() {
    local op=$1 tool=$2 dir=$outdir t=$work/time.out start end status=0
    rm -rf "$dir"
    mkdir -p "$dir"
    spec "$op" "$tool" "$dir"
    start=$EPOCHREALTIME
    /usr/bin/time -f '%e %M' -o "$t" "${cmd[@]}" > "$out" 2> "$dir/stderr" || status=$?
    end=$EPOCHREALTIME
    ((status == 0)) || return "$status"
    tail -n 1 "$t" | awk -v s="$start" -v e="$end" '{ printf "%.6f %s %d\n", e - s, $1, $2 }' >> "$work/data/$op-$tool"
}

# reference_only OP TOOL: whether no target depends on TOOL's figures for OP.
reference_only() { [[ $2 == unzip-http || ($2 == remotezip && $1 != ls) ]]; }

ops=(ls cat-small cat-big x)
declare -A op_title=(
    [ls]="ls, $entries entries"
    [cat-small]="cat one small member"
    [cat-big]="cat $big_mib MiB deflated member"
    [x]="x, $members members"
)
declare -A ran      # [OP-TOOL]=1 when measured
declare -A requests # [OP-TOOL]=count
declare -A bytes    # [OP-TOOL]=response body bytes
declare -A skipped  # [OP]=why

for op in "${ops[@]}"; do
    tools=()
    for tool in rangecat "${peers[@]}"; do
        spec "$op" "$tool" "$work" || continue
        say "${op_title[$op]}: $tool, a checked run"
        mark=$(log_lines)
        status=0
        once "$op" "$tool" || status=$?
        if ((status != 0)); then
            if [[ $tool == rangecat && $op == x ]] && grep -q "not implemented" "$outdir/stderr"; then
                skipped[x]="rangecat x is not implemented yet"
                note "x skipped: $(head -n 1 "$outdir/stderr")"
                break
            fi
            [[ $tool == rangecat ]] && die "rangecat failed: ${cmd[*]}: $(head -c 2000 "$outdir/stderr")"
            note "$tool left out of ${op_title[$op]}: it failed (exit $status): $(head -n 3 "$outdir/stderr" | tr '\n' ' ' | cut -c1-300)"
            continue
        fi
        settle_log
        tail -n "+$((mark + 1))" "$log" > "$work/data/$op-$tool.requests"
        requests[$op-$tool]=$(wc -l < "$work/data/$op-$tool.requests")
        bytes[$op-$tool]=$(awk '{ s += $NF } END { printf "%d", s }' "$work/data/$op-$tool.requests")
        if ! check "$op" "$tool" "$outdir"; then
            [[ $tool == rangecat ]] && die "rangecat wrote the wrong output: ${cmd[*]} (see ${result#"$work"/})"
            note "$tool left out of ${op_title[$op]}: its output was wrong"
            continue
        fi
        : > "$work/data/$op-$tool" # the checked run is a warm-up, not a measurement
        tools+=("$tool")
    done
    [[ -n ${skipped[$op]:-} ]] && continue
    say "${op_title[$op]}: $runs timed runs of ${tools[*]} ($ref_runs of reference figures)"
    n=${#tools[@]}
    for ((i = 0; i < runs; i++)); do
        for ((k = 0; k < n; k++)); do
            tool=${tools[(i + k) % n]}
            reference_only "$op" "$tool" && ((i >= ref_runs)) && continue
            once "$op" "$tool" || die "$tool failed in a timed run: ${cmd[*]}: $(head -c 2000 "$outdir/stderr")"
        done
    done
    for tool in "${tools[@]}"; do ran[$op-$tool]=1; done
done
rm -rf "$outdir"

# --- report ----------------------------------------------------------------------------------

column() { awk -v n="$2" '{ print $n }' "$work/data/$1"; }
wall() { column "$1" 1 | median; }
rss_mib() { column "$1" 3 | maximum | awk '{ printf "%.1f", $1 / 1024 }'; }
human_bytes() {
    awk -v b="$1" 'BEGIN {
        if (b >= 1048576) printf "%.2f MiB", b / 1048576
        else if (b >= 1024) printf "%.1f KiB", b / 1024
        else printf "%d B", b
    }'
}

rows=()
pass=0
fail=0
skip=0
# row WHAT OURS THEIRS REF KIND OP LIMIT UNIT FMT: a target; KIND ratio compares OURS/THEIRS
# with LIMIT, KIND abs compares OURS itself (THEIRS, if any, shown for context). An empty OURS,
# or an empty THEIRS for a ratio, is a SKIP.
row() {
    local what=$1 ours=$2 theirs=$3 ref=$4 kind=$5 op=$6 limit=$7 unit=$8 fmt=$9
    local relation="" ok limit_text ours_text theirs_text=""
    if [[ $kind == ratio ]]; then limit_text="$op ${limit}x"; else limit_text="$op $limit${unit:+ $unit}"; fi
    if [[ -z $ours || ($kind == ratio && -z $theirs) ]]; then
        skip=$((skip + 1))
        rows+=("$(printf "%-38s %12s %28s %7s %13s  %s" "$what" "${ours:+$(printf "$fmt" "$ours")${unit:+ $unit}}" \
            "${ref:+$ref: not run}" "" "$limit_text" SKIP)")
        return
    fi
    ours_text="$(printf "$fmt" "$ours")${unit:+ $unit}"
    [[ -n $theirs ]] && theirs_text="$(printf "$fmt" "$theirs")${unit:+ $unit}${ref:+ ($ref)}"
    [[ $kind == ratio ]] && relation=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
    ok=$(awk -v a="$ours" -v b="$theirs" -v k="$kind" -v op="$op" -v l="$limit" 'BEGIN {
        v = k == "ratio" ? (b > 0 ? a / b : 0) : a
        print ((op == ">=" ? v >= l : op == "=" ? v == l : v <= l) ? "PASS" : "FAIL")
    }')
    if [[ $ok == PASS ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    rows+=("$(printf "%-38s %12s %28s %7s %13s  %s" "$what" "$ours_text" "${theirs_text:--}" "$relation" "$limit_text" "$ok")")
}

# if_ran OP TOOL FUNCTION: FUNCTION's figure for OP by TOOL, or nothing when it did not run.
if_ran() { if [[ -n ${ran[$1-$2]:-} ]]; then "$3" "$1-$2"; fi; }
peer_wall() { if_ran "$1" "$2" wall; }

# ls: against the faster of ripunzip and remotezip.
best= best_ref=
for peer in ripunzip remotezip; do
    w=$(peer_wall ls "$peer")
    [[ -z $w ]] && continue
    if [[ -z $best ]] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$w best_ref=$peer; fi
done
ls_title="ls, ${entries} entries"
row "$ls_title: requests" "${requests[ls-rangecat]:-}" "" "" abs "=" 2 "" %d
row "$ls_title: body bytes" "$(awk -v b="${bytes[ls-rangecat]:-0}" 'BEGIN { printf "%.1f", b / 1024 }')" \
    "$(awk -v b="$many_cd_size" 'BEGIN { printf "%.1f", b / 1024 }')" "central dir" abs "<=" \
    "$(awk -v b="$many_cd_size" 'BEGIN { printf "%.1f", b / 1024 + 66 }')" KiB %.1f
row "$ls_title: wall" "$(if_ran ls rangecat wall)" "$best" "${best_ref:-ripunzip/remotezip}" ratio "<=" 0.5 s %.3f
row "$ls_title: peak RSS" "$(if_ran ls rangecat rss_mib)" "" "" abs "<=" 32 MiB %.1f
row "cat one small member: requests" "${requests[cat-small-rangecat]:-}" "" "" abs "=" 3 "" %d
row "cat one small member: wall" "$(if_ran cat-small rangecat wall)" "$(peer_wall cat-small ripunzip)" \
    ripunzip ratio "<=" 0.5 s %.3f
row "cat $big_mib MiB member: wall" "$(if_ran cat-big rangecat wall)" "$(peer_wall cat-big ripunzip)" \
    ripunzip ratio "<=" 0.7 s %.3f
row "cat $big_mib MiB member: peak RSS" "$(if_ran cat-big rangecat rss_mib)" "" "" abs "<=" 32 MiB %.1f
row "x -j $jobs, $members members: requests" "${requests[x-rangecat]:-}" "" "" abs "<=" 4 "" %d
row "x -j $jobs, $members members: wall" "$(if_ran x rangecat wall)" "$(peer_wall x ripunzip)" \
    ripunzip ratio "<=" 0.6 s %.3f

echo
versions=()
[[ -n $ripunzip ]] && versions+=("$({ "$ripunzip" --version 2> /dev/null || echo ripunzip; } | head -n 1)")
for p in remotezip unzip-http; do
    [[ " ${peers[*]} " == *" $p "* ]] &&
        versions+=("$p $("$cache/venv/bin/python" -c "import importlib.metadata as m; print(m.version('$p'))" 2> /dev/null)")
done
echo "rangecat zip benchmark: $({ "$rangecat" --version 2> /dev/null || echo rangecat; } | head -n 1) vs" \
    "$(if ((${#versions[@]})); then IFS=,; echo "${versions[*]}" | sed 's/,/, /g'; else echo "no peer"; fi)"
echo "$("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //') on 127.0.0.1, sendfile on; $(nproc) CPUs;" \
    "wall: medians of $runs runs ($ref_runs where marked *); RSS: maximum;" \
    "requests and response body bytes: nginx's log of an untimed first run"
echo "archives: $many.zip $(human_bytes "$many_archive_size") (central directory $(human_bytes "$many_cd_size")," \
    "member $many_member, $many_member_size B); $big.zip $(human_bytes "$big_archive_size");" \
    "$files.zip $(human_bytes "$files_archive_size")"
echo
printf "%-34s %-11s %9s %10s %9s %12s\n" operation client "wall s" "RSS MiB" requests "body bytes"
for op in "${ops[@]}"; do
    first=true
    for tool in rangecat "${peers[@]}"; do
        title=$($first && echo "${op_title[$op]}" || true)
        if [[ -n ${ran[$op-$tool]:-} ]]; then
            printf "%-34s %-11s %9.3f %10s %9d %12s\n" "$title" "$tool$(reference_only "$op" "$tool" && echo '*')" "$(wall "$op-$tool")" \
                "$(rss_mib "$op-$tool")" "${requests[$op-$tool]}" "$(human_bytes "${bytes[$op-$tool]}")"
        elif [[ $tool == rangecat && -n ${skipped[$op]:-} ]]; then
            printf "%-34s %-11s %s\n" "$title" "" "skipped: ${skipped[$op]}"
            break
        elif spec "$op" "$tool" "$work" 2> /dev/null; then
            printf "%-34s %-11s %9s\n" "$title" "$tool" "-"
        else
            continue
        fi
        first=false
    done
done
echo
printf "%-38s %12s %28s %7s %13s  %s\n" target rangecat reference ratio limit result
for r in "${rows[@]}"; do
    echo "$r"
done
echo
echo "targets met: $pass of $((pass + fail))$( ((skip)) && echo ", $skip skipped")"
echo "rangecat's requests (method, Range, status, body bytes):"
for op in ls cat-small; do
    [[ -f $work/data/$op-rangecat.requests ]] || continue
    echo "  ${op_title[$op]}: $(paste -sd ';' "$work/data/$op-rangecat.requests" | sed 's/;/; /g')"
done
if ((${#notes[@]})); then
    echo "notes:"
    for n in "${notes[@]}"; do echo "  - $n"; done
fi
