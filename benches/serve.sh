#!/usr/bin/env bash
# rangecat's proxy benchmark: `rangecat serve` against nginx as a reverse proxy, twice (with
# nginx's default proxy buffers, and tuned with `proxy_buffer_size 256k`), all in front of the
# same nginx upstream on loopback, in one run: absolute figures, ratios, PASS/FAIL per target.
#
#   benches/serve.sh                                         # the full run (about 7 minutes)
#   BENCH_SIZE_MIB=256 BENCH_SECONDS=3 BENCH_WRK_RUNS=1 benches/serve.sh       # a quick look
#
# Targets (issue 23: at least a tuned nginx), against the tuned nginx, all measured in this one
# run:
#   - throughput of one BENCH_SIZE_MIB (1 GiB) stream through the proxy, `curl -s -o /dev/null`
#     as the client: >= 1.0x (medians of BENCH_RUNS runs, the proxies taking turns);
#   - requests per second for 64 KiB range requests (`Range: bytes=0-65535`) at 50 concurrent
#     connections, `wrk -t2 -c50 -d10s`: >= 1.0x, rangecat with -q (no access log, as the
#     nginx proxies have none), with p99 latency <= nginx's; the figure with rangecat's access
#     log on is reported alongside;
#   - CPU time per request under that load (utime + stime of the proxy's processes from
#     /proc/PID/stat over the measured run, divided by the requests wrk counted): <= 1.0x;
#   - the proxy's peak RSS under that load (VmHWM of a rangecat process started for that wrk run,
#     cross-checked by sampling VmRSS every 0.1 s): <= 32 MiB;
#   - and no errors under load: wrk's socket errors and non-2xx/3xx answers are 0, and the mean
#     response is 64 KiB plus headers (so every answer was the range, not the whole file).
#
# The references are nginx with `proxy_pass` to an upstream block with `keepalive 64`,
# `proxy_http_version 1.1`, `proxy_set_header Connection ""` and `proxy_buffering off`, and
# BENCH_NGINX_WORKERS workers (default auto: one per CPU, as rangecat's runtime has one worker
# per CPU): "nginx" keeps nginx's default 4 KiB/8 KiB proxy_buffer_size, "nginx-256k" sets
# `proxy_buffer_size 256k` (rangecat's chunk). The upstream is one more nginx (one worker,
# sendfile on, tcp_nopush off) serving a file of random bytes. Before anything is timed,
# the whole file and a 64 KiB range are fetched through every proxy and compared with the file.
# Each wrk run gets a fresh rangecat (so its VmHWM is that load's) and a warm-up of
# BENCH_WARMUP seconds; rangecat is stopped with SIGTERM after each and must exit cleanly.
#
# All of it shares the machine's CPUs: the upstream nginx, the proxy and the client (curl or
# wrk) compete for them, so absolute figures are load-bound and the ratios are what count.
#
# Environment:
#   BENCH_SIZE_MIB        size of the streamed file (default 1024)
#   BENCH_RUNS            timed streams per proxy; medians reported (default 5)
#   BENCH_SECONDS         duration of each measured wrk run (default 10)
#   BENCH_WRK_RUNS        measured wrk runs per proxy configuration; medians reported (default 5)
#   BENCH_WARMUP          seconds of wrk before each measured run, not counted (default 1)
#   BENCH_CONNECTIONS     wrk connections (default 50)
#   BENCH_WRK_THREADS     wrk threads (default 2)
#   BENCH_NGINX_WORKERS   worker_processes of the nginx proxies (default auto)
#   BENCH_CHUNK_SIZE      pass --chunk-size to rangecat serve (default: rangecat's own, 256 KiB)
#   BENCH_DIRECT=0        skip the reference figures straight from the upstream (default 1)
#   BENCH_INSTRUCTIONS=0  skip the instruction counts under valgrind (default 1 when valgrind and
#                         ab are there, or installable as root)
#   BENCH_SKIP_BUILD=1    use target/release/rangecat as it is
#   BENCH_RANGECAT=PATH   benchmark this binary instead (implies BENCH_SKIP_BUILD=1)
#
# Needs nginx, curl, wrk and pgrep (Debian packages nginx-light, curl, wrk, procps); as root with
# apt-get, a missing wrk is installed (and valgrind and apache2-utils for the instruction counts).
# A full run takes about 5 minutes on 2 CPUs, plus the build.
#
# Exit status: 0 whatever the figures (this is a report); 1 when something broke (a build, a
# tool missing, nginx or the proxy not starting, a fetch through a proxy failing or returning
# wrong bytes before the timing).

set -euo pipefail

size_mib=${BENCH_SIZE_MIB:-1024}
runs=${BENCH_RUNS:-5}
seconds=${BENCH_SECONDS:-10}
wrk_runs=${BENCH_WRK_RUNS:-5}
warmup=${BENCH_WARMUP:-1}
conns=${BENCH_CONNECTIONS:-50}
wrk_threads=${BENCH_WRK_THREADS:-2}
nginx_workers=${BENCH_NGINX_WORKERS:-auto}
direct=${BENCH_DIRECT:-1}
chunk_args=()
[[ -n ${BENCH_CHUNK_SIZE:-} ]] && chunk_args=(--chunk-size "$BENCH_CHUNK_SIZE")

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

# --- tools -----------------------------------------------------------------------------------

find_nginx
ensure_command curl curl
ensure_command wrk wrk
instructions=${BENCH_INSTRUCTIONS:-1}
if [[ $instructions == 1 ]]; then
    { ensure_command valgrind valgrind && ensure_command ab apache2-utils; } 2> /dev/null || instructions=0
fi
command -v pgrep > /dev/null || die "pgrep not found (apt-get install procps)"

build_release
[[ -x $rangecat ]] || die "$rangecat not found"

# --- a scratch directory, the servers, and cleaning up ---------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/rangecat-serve-bench.XXXXXX")
upstream_pid=
nginx_proxy_pid=
nginx_tuned_pid=
rangecat_pid=
sampler_pid=
stop_pid() { # PID: TERM it and reap it
    [[ -n $1 ]] || return 0
    kill "$1" 2> /dev/null || true
    wait "$1" 2> /dev/null || true
}
cleanup() {
    stop_pid "$sampler_pid"
    stop_pid "$rangecat_pid"
    stop_pid "$nginx_proxy_pid"
    stop_pid "$nginx_tuned_pid"
    stop_pid "$upstream_pid"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/www" "$work/upstream" "$work/proxy" "$work/tuned"
file=$work/www/big.bin
size=$((size_mib * 1024 * 1024))
range_len=65536
load_at_start=$(cut -d' ' -f1 /proc/loadavg)
say "writing $size_mib MiB of random bytes"
head -c "$size" /dev/urandom > "$file"
head -c "$range_len" "$file" > "$work/range.bin"

# A port nothing answers on now (the caller tries another if binding it fails after all).
some_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null || break
    done
    echo "$port"
}

# wait_ready PID URL: whether the server PID answers a one-byte range of URL within 5 s.
wait_ready() {
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$1" 2> /dev/null || return 1
        curl -sf -o /dev/null -r 0-0 "$2" && return 0
        sleep 0.05
    done
    return 1
}

# nginx_conf DIR PORT WORKERS SERVER-BODY [HTTP-EXTRA]: an nginx.conf of its own in DIR.
# One worker runs without a master (one pid to kill, nothing switches user); more need a
# master, whose workers run as root when we are root (the scratch directory is ours alone).
nginx_conf() {
    local dir=$1 port=$2 workers=$3 body=$4 extra=${5:-} master=on user=
    if [[ $workers == 1 ]]; then
        master=off
    elif [[ $(id -u) == 0 ]]; then
        user="user root root;"
    fi
    cat > "$dir/nginx.conf" << EOF
daemon off;
master_process $master;
$user
worker_processes $workers;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    types { }
    default_type application/octet-stream;
    keepalive_timeout 30s;
    $extra
    server {
        listen 127.0.0.1:$port;
        $body
    }
}
EOF
}

# start_nginx DIR PORT: runs DIR/nginx.conf in the foreground; prints its pid once it answers.
start_nginx() {
    local dir=$1 port=$2 pid
    "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" < /dev/null > /dev/null 2> "$dir/stderr.log" &
    pid=$!
    if wait_ready "$pid" "http://127.0.0.1:$port/big.bin"; then
        echo "$pid"
        return 0
    fi
    stop_pid "$pid"
    return 1
}

# The upstream: one nginx worker serving the file, sendfile on, as in benches/bench.sh, and
# tcp_nopush off: with it on, this nginx held the last segment of 1-2 % of its 64 KiB answers
# for 25-40 ms (straight from the upstream, wrk -c10: p50 0.4 ms, p99 35 ms; without it p99
# 0.24 ms), and that stall, not the proxy, was every proxy's p99.
up_port=
for _ in 1 2 3 4 5; do
    port=$(some_port)
    nginx_conf "$work/upstream" "$port" 1 "root $work/www;" "sendfile on;"
    if upstream_pid=$(start_nginx "$work/upstream" "$port"); then
        up_port=$port
        break
    fi
done
[[ -n $up_port ]] ||
    die "the upstream nginx did not start: $(cat "$work/upstream/stderr.log" "$work/upstream/error.log" 2> /dev/null)"
upstream=http://127.0.0.1:$up_port
say "upstream nginx on $upstream"

# The references: nginx as a streaming reverse proxy in front of the same upstream.
# start_nginx_proxy DIR [BUFFER]: prints "pid port"; dies when it does not start.
start_nginx_proxy() {
    local dir=$1 buffer=${2:-} port pid
    for _ in 1 2 3 4 5; do
        port=$(some_port)
        nginx_conf "$dir" "$port" "$nginx_workers" "location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
            ${buffer:+proxy_buffer_size $buffer; proxy_buffers 4 $buffer; proxy_busy_buffers_size $buffer;}
        }" "upstream origin { server 127.0.0.1:$up_port; keepalive 64; }"
        if pid=$(start_nginx "$dir" "$port"); then
            echo "$pid $port"
            return 0
        fi
    done
    die "nginx-proxy ($dir) did not start: $(cat "$dir/stderr.log" "$dir/error.log" 2> /dev/null)"
}
read -r nginx_proxy_pid np_port < <(start_nginx_proxy "$work/proxy")
read -r nginx_tuned_pid nt_port < <(start_nginx_proxy "$work/tuned" 256k)
[[ -n $np_port && -n $nt_port ]] || die "an nginx proxy did not start"
say "nginx-proxy on http://127.0.0.1:$np_port (default buffers), nginx-256k on http://127.0.0.1:$nt_port ($nginx_workers workers)"

# start_rangecat LOG [ARGS...]: a fresh `rangecat serve` with stderr to LOG; sets rangecat_pid
# and rc_port.
rc_port=
start_rangecat() {
    local log=$1 port
    shift
    for _ in 1 2 3 4 5; do
        port=$(some_port)
        "$rangecat" serve --upstream "$upstream" --listen "127.0.0.1:$port" "${chunk_args[@]}" "$@" \
            < /dev/null > /dev/null 2> "$log" &
        rangecat_pid=$!
        if wait_ready "$rangecat_pid" "http://127.0.0.1:$port/big.bin"; then
            rc_port=$port
            return 0
        fi
        stop_pid "$rangecat_pid"
        rangecat_pid=
    done
    die "rangecat serve did not start: $(cat "$log")"
}

# stop_rangecat: SIGTERM must end it, and cleanly; a note otherwise.
notes=()
stop_rangecat() {
    local i status=0
    kill -TERM "$rangecat_pid" 2> /dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$rangecat_pid" 2> /dev/null || break
        sleep 0.05
    done
    if kill -0 "$rangecat_pid" 2> /dev/null; then
        notes+=("rangecat serve was still running 5 s after SIGTERM (killed)")
        kill -KILL "$rangecat_pid" 2> /dev/null || true
    fi
    wait "$rangecat_pid" 2> /dev/null || status=$?
    ((status == 0)) || notes+=("rangecat serve exited with status $status after SIGTERM")
    rangecat_pid=
}

# --- correctness first: a benchmark of wrong output means nothing -----------------------------

# check_proxy NAME BASE: the whole file and a 64 KiB range through BASE, byte for byte.
check_proxy() {
    local name=$1 base=$2 got
    curl -s -D "$work/headers.txt" "$base/big.bin" | cmp -s - "$file" ||
        die "$name: the whole file did not come back byte for byte (curl -s $base/big.bin | cmp - $file)"
    got=$(head -n 1 "$work/headers.txt" | tr -d '\r')
    [[ $got == "HTTP/1.1 200"* ]] || die "$name: the whole file came back as '$got', not 200"
    got=$(curl -s -o "$work/got.bin" -D "$work/headers.txt" -w '%{http_code}' -H "Range: bytes=0-$((range_len - 1))" \
        "$base/big.bin") || die "curl -r 0-$((range_len - 1)) $base/big.bin (through $name) failed"
    [[ $got == 206 ]] || die "$name: a 64 KiB range came back with status $got, not 206"
    grep -qi "^content-range: bytes 0-$((range_len - 1))/$size" "$work/headers.txt" ||
        die "$name: a 64 KiB range came back without 'Content-Range: bytes 0-$((range_len - 1))/$size'"
    cmp -s "$work/got.bin" "$work/range.bin" || die "$name: a 64 KiB range came back with wrong bytes"
}
say "checking bytes through both proxies"
start_rangecat "$work/rangecat-stream.log" -q
check_proxy "rangecat serve" "http://127.0.0.1:$rc_port"
check_proxy nginx-proxy "http://127.0.0.1:$np_port"
check_proxy nginx-256k "http://127.0.0.1:$nt_port"

# --- measurements ----------------------------------------------------------------------------

clk_tck=$(getconf CLK_TCK)

# The processes of a proxy: rangecat's one (its /proc stat counts every thread), or nginx's
# master and workers.
procs_of() {
    case $1 in
    rangecat) echo "$rangecat_pid" ;;
    nginx) echo "$nginx_proxy_pid" $(pgrep -P "$nginx_proxy_pid" || true) ;;
    nginx-256k) echo "$nginx_tuned_pid" $(pgrep -P "$nginx_tuned_pid" || true) ;;
    esac
}
# cpu_ticks PIDS...: user+sys clock ticks of PIDS so far.
cpu_ticks() {
    local pid total=0 stat
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2> /dev/null) || continue
        stat=${stat##*) }                      # past "pid (comm) "
        read -r -a f <<< "$stat"               # f[0] is field 3 (state)
        total=$((total + f[11] + f[12]))       # fields 14 utime, 15 stime
    done
    echo "$total"
}
# kib_of FIELD PIDS...: the sum of /proc/PID/status FIELD (VmRSS, VmHWM) in KiB.
kib_of() {
    local field=$1
    shift
    local pid
    for pid in "$@"; do cat "/proc/$pid/status" 2> /dev/null; done |
        awk -v f="$field:" '$1 == f { s += $2 } END { print s + 0 }'
}

# stream NAME BASE PROXY: one timed `curl -s -o /dev/null`; appends "wall_s proxy_cpu_s" to
# $work/stream-NAME. A status other than 200 or a short body is fatal.
stream() {
    local name=$1 base=$2 proxy=$3 start end got c0=0 c1=0 pids
    pids=$(procs_of "$proxy" 2> /dev/null || true)
    [[ $proxy == none ]] || c0=$(cpu_ticks $pids)
    start=$EPOCHREALTIME
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$base/big.bin") || die "curl $base/big.bin failed"
    end=$EPOCHREALTIME
    [[ $proxy == none ]] || c1=$(cpu_ticks $pids)
    [[ $got == "200 $size" ]] || die "$name: a timed stream came back as '$got' (status, bytes), not '200 $size'"
    awk -v s="$start" -v e="$end" -v c=$((c1 - c0)) -v t="$clk_tck" 'BEGIN { printf "%.6f %.2f\n", e - s, c / t }' \
        >> "$work/stream-$name"
}

rm -f "$work"/stream-*
say "streaming $size_mib MiB through each proxy, $runs runs each"
for ((i = 0; i < runs; i++)); do
    # Rotate which goes first, so that drift in the machine's load falls on all alike.
    case $((i % 3)) in
    0) stream nginx "http://127.0.0.1:$np_port" nginx; stream nginx-256k "http://127.0.0.1:$nt_port" nginx-256k
       stream rangecat "http://127.0.0.1:$rc_port" rangecat ;;
    1) stream rangecat "http://127.0.0.1:$rc_port" rangecat; stream nginx "http://127.0.0.1:$np_port" nginx
       stream nginx-256k "http://127.0.0.1:$nt_port" nginx-256k ;;
    2) stream nginx-256k "http://127.0.0.1:$nt_port" nginx-256k; stream rangecat "http://127.0.0.1:$rc_port" rangecat
       stream nginx "http://127.0.0.1:$np_port" nginx ;;
    esac
    if [[ $direct == 1 ]] && ((i < 3)); then
        stream direct "$upstream" none
    fi
done
stream_rss_kib=$(kib_of VmHWM "$rangecat_pid")
stop_rangecat

# wrk's exact counts, on one line, from its done() hook (which costs nothing per request).
cat > "$work/report.lua" << 'EOF'
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("WRK requests=%d bytes=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
EOF

# load NAME BASE PROXY: a warm-up, then one measured wrk run against BASE, sampling the
# proxy's RSS every 0.1 s and its CPU time over the measured run; appends "rps p99_ms errors
# mean_bytes peak_rss_kib requests cpu_us_per_request" to $work/wrk-NAME, requests counting
# the warm-up's too.
load() {
    local name=$1 base=$2 proxy=$3 out=$work/wrk.out line pids hwm=0 sampled=0 c0=0 c1=0
    local wrk_args=(-t"$wrk_threads" -c"$conns" -H "Range: bytes=0-$((range_len - 1))" "$base/big.bin")
    : > "$work/warm.out"
    if ((warmup > 0)); then
        wrk -d"${warmup}s" -s "$work/report.lua" "${wrk_args[@]}" > "$work/warm.out" 2>&1 ||
            die "wrk (warm-up) against $base failed: $(cat "$work/warm.out")"
    fi
    pids=$(procs_of "$proxy" 2> /dev/null || true)
    : > "$work/rss.samples"
    if [[ $proxy != none ]]; then
        (while :; do kib_of VmRSS $pids >> "$work/rss.samples"; sleep 0.1; done) &
        sampler_pid=$!
    fi
    [[ $proxy == none ]] || c0=$(cpu_ticks $pids)
    wrk -d"${seconds}s" -s "$work/report.lua" "${wrk_args[@]}" > "$out" 2>&1 ||
        die "wrk against $base failed: $(cat "$out")"
    [[ $proxy == none ]] || c1=$(cpu_ticks $pids)
    if [[ $proxy != none ]]; then
        stop_pid "$sampler_pid"
        sampler_pid=
        hwm=$(kib_of VmHWM $pids)
        sampled=$(maximum < "$work/rss.samples")
    fi
    line=$(grep '^WRK ' "$out") || die "wrk printed no summary: $(cat "$out")"
    local warm_requests
    warm_requests=$(sed -n 's/^WRK requests=\([0-9]*\) .*/\1/p' "$work/warm.out")
    echo "$line" | tr ' ' '\n' | sed -n 's/=/ /p' > "$work/wrk.kv"
    kv() { awk -v k="$1" '$1 == k { print $2 }' "$work/wrk.kv"; }
    awk -v r="$(kv requests)" -v b="$(kv bytes)" -v d="$(kv duration_us)" -v p="$(kv p99_us)" \
        -v e=$(($(kv connect) + $(kv read) + $(kv write) + $(kv status) + $(kv timeout))) \
        -v h="$hwm" -v s="${sampled:-0}" -v w="${warm_requests:-0}" -v c=$((c1 - c0)) -v t="$clk_tck" 'BEGIN {
            printf "%.1f %.2f %d %.0f %d %d %.1f\n", r / (d / 1e6), p / 1000, e, (r > 0 ? b / r : 0), (h > s ? h : s), w + r, (r > 0 ? c / t * 1e6 / r : 0)
        }' >> "$work/wrk-$name"
    echo "$name: $line hwm_kib=$hwm sampled_max_kib=${sampled:-0}" >> "$work/wrk.log"
}

# load_rangecat NAME [ARGS...]: the same, against a fresh rangecat serve.
load_rangecat() {
    local name=$1
    shift
    start_rangecat "$work/rangecat-$name.log" "$@"
    load "$name" "http://127.0.0.1:$rc_port" rangecat
    stop_rangecat
    # One access-log line per request: at least as many as wrk saw answered (plus the
    # readiness probe; wrk does not count requests cut off when it stops).
    if [[ $name == rangecat-log ]]; then
        local lines requests
        lines=$(grep -c '"GET ' "$work/rangecat-$name.log" || true)
        requests=$(tail -n 1 "$work/wrk-$name" | awk '{ print $6 }')
        echo "$lines $requests" >> "$work/log-lines"
        ((lines >= requests)) ||
            notes+=("rangecat serve wrote $lines access-log lines for $requests answered requests")
    fi
}

rm -f "$work"/wrk-* "$work/wrk.log"
say "wrk: 64 KiB ranges, $conns connections, ${seconds}s (+${warmup}s warm-up) per run, $wrk_runs runs per proxy"
for ((i = 0; i < wrk_runs; i++)); do
    # Rotate the order from run to run.
    case $((i % 3)) in
    0) load nginx "http://127.0.0.1:$np_port" nginx; load nginx-256k "http://127.0.0.1:$nt_port" nginx-256k
       load_rangecat rangecat-q -q; load_rangecat rangecat-log ;;
    1) load_rangecat rangecat-q -q; load_rangecat rangecat-log; load nginx "http://127.0.0.1:$np_port" nginx
       load nginx-256k "http://127.0.0.1:$nt_port" nginx-256k ;;
    2) load nginx-256k "http://127.0.0.1:$nt_port" nginx-256k; load_rangecat rangecat-log
       load nginx "http://127.0.0.1:$np_port" nginx; load_rangecat rangecat-q -q ;;
    esac
done
[[ $direct == 1 ]] && load direct "$upstream" none
mean_min=$(cat "$work"/wrk-rangecat-* | awk '{ print $4 }' | sort -g | head -n 1)
((mean_min >= range_len)) ||
    notes+=("some rangecat run averaged $mean_min bytes per answer, less than the 64 KiB asked for")

# --- user-space instructions per request --------------------------------------------------------
# Noise-free where the timings above are not: each proxy with one worker under valgrind's
# callgrind, `ab -k -c 4` asking the same 64 KiB range 2,000 and then 10,000 times, a fresh
# process for each; the difference of the two totals over 8,000 requests leaves start-up and
# shut-down out. Counts user space only (the kernel's copies are the same for both proxies).
# callgrind_total OUT: the total instruction count callgrind wrote to OUT.
callgrind_total() { callgrind_annotate "$1" 2> /dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }
# count_instructions NAME STOP-SIGNAL PORT CMD...: appends NAME's instructions per request.
count_instructions() {
    local name=$1 signal=$2 port=$3 n pid totals=()
    shift 3
    for n in 2000 10000; do
        valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$@" \
            < /dev/null > /dev/null 2> "$work/valgrind-$name.log" &
        pid=$!
        wait_ready "$pid" "http://127.0.0.1:$port/big.bin" || wait_ready "$pid" "http://127.0.0.1:$port/big.bin" ||
            die "$name did not start under valgrind: $(tail -n 5 "$work/valgrind-$name.log")"
        ab -k -n "$n" -c 4 -H "Range: bytes=0-$((range_len - 1))" "http://127.0.0.1:$port/big.bin" \
            > "$work/ab-$name.out" 2>&1 || die "ab against $name failed: $(tail -n 3 "$work/ab-$name.out")"
        grep -q '^Failed requests: *0$' "$work/ab-$name.out" || die "ab saw failed requests against $name"
        kill "-$signal" "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
        totals+=("$(callgrind_total "$work/callgrind.out")")
        rm -f "$work/callgrind.out"
    done
    echo "$(((totals[1] - totals[0]) / 8000))" > "$work/instructions-$name"
}
if [[ $instructions == 1 ]]; then
    say "instructions per request under valgrind (one worker each)"
    port=$(some_port)
    mkdir -p "$work/counted"
    nginx_conf "$work/counted" "$port" 1 "location / {
        proxy_pass http://origin;
        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
        proxy_buffering off;
        proxy_buffer_size 256k; proxy_buffers 4 256k; proxy_busy_buffers_size 256k;
    }" "upstream origin { server 127.0.0.1:$up_port; keepalive 64; }"
    count_instructions nginx-256k QUIT "$port" "$nginx_bin" -p "$work/counted" -c "$work/counted/nginx.conf"
    port=$(some_port)
    count_instructions rangecat TERM "$port" "$rangecat" serve -q --upstream "$upstream" --listen "127.0.0.1:$port"
fi

# --- report ----------------------------------------------------------------------------------

column() { awk -v n="$2" '{ print $n }' "$work/$1"; }
throughput() { awk -v b="$size" -v s="$(column "stream-$1" 1 | "${2:-median}")" 'BEGIN { printf "%.1f", b / s / 1048576 }'; }

rows=()
pass=0
fail=0
# row WHAT RANGECAT NGINX NGINX-256K KIND(ratio|abs|info) OP LIMIT UNIT FMT: the limit applies to
# rangecat against nginx-256k (a ratio) or to rangecat alone (abs).
row() {
    local what=$1 ours=$2 plain=$3 tuned=$4 kind=$5 op=$6 limit=$7 unit=$8 fmt=$9 limit_text ok
    case $kind in
    ratio) limit_text="$op ${limit}x" ;;
    abs) limit_text="$op $limit $unit" ;;
    info) limit_text="-" ;;
    esac
    if [[ $kind == info ]]; then
        ok=info
    else
        ok=$(awk -v a="$ours" -v b="$tuned" -v k="$kind" -v op="$op" -v l="$limit" 'BEGIN {
            v = k == "ratio" ? (b > 0 ? a / b : 0) : a
            print ((op == ">=" ? v >= l : v <= l) ? "PASS" : "FAIL")
        }')
        if [[ $ok == PASS ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    fi
    rows+=("$(printf "%-44s %13s %13s %13s %8s %8s %11s  %s" "$what" \
        "$(printf "$fmt" "$ours") $unit" "$(printf "$fmt" "$plain") $unit" "$(printf "$fmt" "$tuned") $unit" \
        "$(ratio "$ours" "$plain")" "$(ratio "$ours" "$tuned")" "$limit_text" "$ok")")
}
med() { column "$1" "$2" | median; }

row "throughput, $size_mib MiB stream" "$(throughput rangecat)" "$(throughput nginx)" "$(throughput nginx-256k)" \
    ratio ">=" 1.0 MiB/s %.0f
row "proxy CPU user+sys per $size_mib MiB stream" "$(med stream-rangecat 2)" "$(med stream-nginx 2)" \
    "$(med stream-nginx-256k 2)" info "" "" s %.2f
row "req/s, 64 KiB ranges, $conns conns (-q)" "$(med wrk-rangecat-q 1)" "$(med wrk-nginx 1)" "$(med wrk-nginx-256k 1)" \
    ratio ">=" 1.0 req/s %.0f
row "req/s, 64 KiB ranges, $conns conns (log on)" "$(med wrk-rangecat-log 1)" "$(med wrk-nginx 1)" \
    "$(med wrk-nginx-256k 1)" info "" "" req/s %.0f
row "p99 latency under that load (-q)" "$(med wrk-rangecat-q 2)" "$(med wrk-nginx 2)" "$(med wrk-nginx-256k 2)" \
    ratio "<=" 1.0 ms %.2f
row "CPU per request under that load (-q)" "$(med wrk-rangecat-q 7)" "$(med wrk-nginx 7)" "$(med wrk-nginx-256k 7)" \
    ratio "<=" 1.0 us %.1f
row "CPU per request under that load (log on)" "$(med wrk-rangecat-log 7)" "$(med wrk-nginx 7)" \
    "$(med wrk-nginx-256k 7)" info "" "" us %.1f
row "peak RSS under that load (-q)" "$(column wrk-rangecat-q 5 | maximum | kib_to_mib)" \
    "$(column wrk-nginx 5 | maximum | kib_to_mib)" "$(column wrk-nginx-256k 5 | maximum | kib_to_mib)" abs "<=" 32 MiB %.1f
row "peak RSS under that load (log on)" "$(column wrk-rangecat-log 5 | maximum | kib_to_mib)" \
    "$(column wrk-nginx 5 | maximum | kib_to_mib)" "$(column wrk-nginx-256k 5 | maximum | kib_to_mib)" info "" "" MiB %.1f
row "errors + non-2xx under load (all runs)" "$(cat "$work"/wrk-rangecat-* | awk '{ s += $3 } END { print s + 0 }')" \
    "$(awk '{ s += $3 } END { print s + 0 }' "$work/wrk-nginx")" "$(awk '{ s += $3 } END { print s + 0 }' "$work/wrk-nginx-256k")" \
    abs "<=" 0 "" %d
row "mean bytes per answer (64 KiB + headers)" "$(cat "$work"/wrk-rangecat-* | awk '{ print $4 }' | maximum)" \
    "$(column wrk-nginx 4 | maximum)" "$(column wrk-nginx-256k 4 | maximum)" abs "<=" $((range_len + 1024)) B %d

rc_version=$("$rangecat" --version 2> /dev/null | head -n 1)
nginx_version=$("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //')
echo
echo "rangecat serve benchmark: $rc_version vs $nginx_version as a reverse proxy (proxy_buffering off," \
    "upstream keepalive 64, proxy_http_version 1.1, $nginx_workers workers; nginx: default proxy_buffer_size," \
    "nginx-256k: proxy_buffer_size 256k), all in front of one $nginx_version upstream (1 worker, sendfile)"
echo "loopback; $(nproc) CPUs shared by the upstream, the proxy and the client, so absolute figures are" \
    "load-bound; file $size_mib MiB; streams: curl -s -o /dev/null, medians of $runs runs;" \
    "load: wrk -t$wrk_threads -c$conns -d${seconds}s -H 'Range: bytes=0-$((range_len - 1))', medians of $wrk_runs runs" \
    "(RSS: maximum of VmHWM and 0.1 s VmRSS samples; CPU: utime+stime of the proxy's processes over the measured run);" \
    "load average $load_at_start at the start, $(cut -d' ' -f1 /proc/loadavg) at the end"
echo
printf "%-44s %13s %13s %13s %8s %8s %11s  %s\n" target rangecat nginx nginx-256k "vs nginx" "vs 256k" "limit" result
for r in "${rows[@]}"; do
    echo "$r"
done
echo
echo "targets met (against nginx-256k): $pass of $((pass + fail))"
# Every run, in the order taken, so that what the machine's other load did shows.
runs_of() { awk -v f="$2" -v fmt="$3" '{ printf "%s" fmt, (NR > 1 ? " " : ""), $f }' "$work/$1"; }
tp_runs() { awk -v b="$size" '{ printf "%s%.0f", (NR > 1 ? " " : ""), b / $1 / 1048576 }' "$work/stream-$1"; }
echo "each run: MiB/s rangecat $(tp_runs rangecat), nginx $(tp_runs nginx), nginx-256k $(tp_runs nginx-256k);" \
    "req/s rangecat -q $(runs_of wrk-rangecat-q 1 %.0f), log on $(runs_of wrk-rangecat-log 1 %.0f)," \
    "nginx $(runs_of wrk-nginx 1 %.0f), nginx-256k $(runs_of wrk-nginx-256k 1 %.0f);" \
    "p99 ms rangecat -q $(runs_of wrk-rangecat-q 2 %.2f), nginx-256k $(runs_of wrk-nginx-256k 2 %.2f)"
echo "rangecat serve's RSS after the $runs streams: $(echo "$stream_rss_kib" | kib_to_mib) MiB (VmHWM);" \
    "access-log lines against requests wrk saw answered, per logged run: $(awk '{ printf "%s%d/%d", (NR > 1 ? ", " : ""), $1, $2 }' "$work/log-lines")"
if [[ $direct == 1 ]]; then
    echo "straight from the upstream, no proxy: $(throughput direct) MiB/s (median of $(wc -l < "$work/stream-direct") streams)," \
        "$(column wrk-direct 1 | median) req/s at p99 $(column wrk-direct 2 | median) ms (one wrk run)"
fi
if [[ $instructions == 1 ]]; then
    ours=$(cat "$work/instructions-rangecat") theirs=$(cat "$work/instructions-nginx-256k")
    echo "user-space instructions per 64 KiB range (callgrind, one worker each): rangecat $ours," \
        "nginx-256k $theirs, $(ratio "$ours" "$theirs")"
fi
for n in "${notes[@]}"; do
    echo "note: $n"
done
