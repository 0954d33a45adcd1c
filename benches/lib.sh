# Shared by the benchmark scripts (sourced, never run): messages, the tools they need, the
# release build, and the small statistics every report uses.

# The binary measured: BENCH_RANGECAT, else the release build (built unless
# BENCH_SKIP_BUILD=1). The sourcing script sets `repo` first.
rangecat=${BENCH_RANGECAT:-$repo/target/release/rangecat}
if [[ -n ${BENCH_RANGECAT:-} ]]; then BENCH_SKIP_BUILD=1; fi

die() {
    echo "bench: $*" >&2
    exit 1
}
say() { echo "bench: $*" >&2; }

# ensure_command COMMAND PACKAGE: installs Debian's PACKAGE when COMMAND is missing and we are
# root with apt-get; dies when COMMAND is still missing.
ensure_command() {
    command -v "$1" > /dev/null && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
        say "installing $2"
        apt-get install -y --no-install-recommends "$2" > /dev/null 2>&1 ||
            { apt-get update -qq > /dev/null 2>&1 && apt-get install -y --no-install-recommends "$2" > /dev/null 2>&1; } || true
    fi
    command -v "$1" > /dev/null || die "$1 not found (apt-get install $2)"
}

# find_nginx: sets nginx_bin (Debian's nginx lives in /usr/sbin, which a PATH may lack).
find_nginx() {
    nginx_bin=/usr/sbin/nginx
    [[ -x $nginx_bin ]] || nginx_bin=$(command -v nginx) || die "nginx not found (apt-get install nginx-light)"
}

# build_release: cargo build --release in $repo unless BENCH_SKIP_BUILD=1.
build_release() {
    if [[ ${BENCH_SKIP_BUILD:-} != 1 ]]; then
        say "cargo build --release"
        (cd "$repo" && cargo build --release --quiet) || die "cargo build --release failed"
    fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -g | tail -n 1; }
minimum() { sort -g | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
kib_to_mib() { awk '{ printf "%.1f\n", $1 / 1024 }'; }

# start_static_nginx DIR ROOT PORT PATH [LOG]: nginx serving ROOT on 127.0.0.1:PORT, its files
# in DIR; sets nginx_pid once PATH answers, returns 1 when it does not start. One process in
# the foreground (no master, so nothing to switch to another user and one pid to kill),
# sendfile on as in production, and no access log to write per request unless LOG is given
# (then a line `METHOD "RANGE" STATUS BODY_BYTES` per request).
start_static_nginx() {
    local dir=$1 root=$2 port=$3 path=$4 log=${5:-}
    local access_log="access_log off;"
    [[ -n $log ]] && access_log="log_format bench '\$request_method \"\$http_range\" \$status \$body_bytes_sent'; access_log $log bench;"
    mkdir -p "$dir"
    cat > "$dir/nginx.conf" << EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
    $access_log
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    types { }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30s;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$port;
        root $root;
    }
}
EOF
    "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" < /dev/null > /dev/null 2> "$dir/stderr.log" &
    nginx_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$nginx_pid" 2> /dev/null || break
        if curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$port/$path"; then
            return 0
        fi
        sleep 0.05
    done
    kill "$nginx_pid" 2> /dev/null || true
    wait "$nginx_pid" 2> /dev/null || true
    nginx_pid=
    return 1
}

# start_static_apache DIR ROOT PORT PATH LOG: Apache httpd (Debian's apache2) serving ROOT on
# 127.0.0.1:PORT with its defaults (MaxRanges 200), its files in DIR, a line
# `METHOD "RANGE" STATUS BODY_BYTES` per request in LOG; sets apache_pid once PATH answers,
# returns 1 when it does not start. One process in the foreground (-X, the event MPM's
# threads serving); as root it serves as www-data, so ROOT must be readable by all.
start_static_apache() {
    local dir=$1 root=$2 port=$3 path=$4 log=$5
    local user=
    [[ $(id -u) == 0 ]] && user=$'User www-data\nGroup www-data'
    mkdir -p "$dir"
    cat > "$dir/apache.conf" << EOF
ServerRoot $dir
DefaultRuntimeDir $dir
PidFile $dir/apache.pid
Listen 127.0.0.1:$port
ServerName localhost
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
$user
ErrorLog $dir/error.log
LogFormat "%m \"%{Range}i\" %>s %B" bench
CustomLog $log bench
DocumentRoot $root
<Directory $root>
    Require all granted
</Directory>
EOF
    /usr/sbin/apache2 -X -f "$dir/apache.conf" < /dev/null > /dev/null 2> "$dir/stderr.log" &
    apache_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$apache_pid" 2> /dev/null || break
        if curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$port/$path"; then
            return 0
        fi
        sleep 0.05
    done
    kill "$apache_pid" 2> /dev/null || true
    wait "$apache_pid" 2> /dev/null || true
    apache_pid=
    return 1
}

# start_delayed_apache ROOT PATH DELAY_MS LOG: start_static_apache on a free port behind its own
# benches/delay_proxy.py; sets apache_pid, apache_proxy_pid and apache_url.
start_delayed_apache() {
    local root=$1 path=$2 delay=$3 log=$4
    local port=$((20000 + RANDOM % 20000))
    start_static_apache "$work/apache" "$root" "$port" "$path" "$log" ||
        die "apache2 did not start: $(cat "$work/apache/stderr.log" "$work/apache/error.log" 2> /dev/null)"
    python3 "$repo/benches/delay_proxy.py" $((port + 1)) "$port" "$delay" &
    apache_proxy_pid=$!
    apache_url=http://127.0.0.1:$((port + 1))/$path
    local i
    for ((i = 0; i < 100; i++)); do
        curl -sf -o /dev/null -r 0-0 "$apache_url" && break
        sleep 0.05
    done
    say "Apache on $port, $delay ms per request through $apache_url"
}

# start_delayed_site NAME ROOT PATH DELAY_MS [RATE] [LOG]: nginx serving ROOT, behind
# benches/delay_proxy.py adding DELAY_MS per request (and pacing answers to RATE bytes/s,
# none when empty), logging each request to LOG when given (see start_static_nginx);
# sets work (a scratch directory removed on exit), nginx_pid, proxy_pid and url (PATH through
# the proxy).
start_delayed_site() {
    local name=$1 root=$2 path=$3 delay=$4 rate=${5:-} log=${6:-}
    local port=$((20000 + RANDOM % 20000))
    start_static_nginx "$work/nginx" "$root" "$port" "$path" "$log" || die "nginx did not start"
    python3 "$repo/benches/delay_proxy.py" $((port + 1)) "$port" "$delay" $rate &
    proxy_pid=$!
    url=http://127.0.0.1:$((port + 1))/$path
    local i
    for ((i = 0; i < 100; i++)); do
        curl -sf -o /dev/null -r 0-0 "$url" && break
        sleep 0.05
    done
    say "$name: nginx on $port, $delay ms per request through $url"
}

# new_scratch NAME: sets work to a fresh scratch directory; on exit it is removed and
# nginx_pid, proxy_pid, apache_pid and apache_proxy_pid are stopped.
new_scratch() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/rangecat-$1.XXXXXX")
    nginx_pid=
    proxy_pid=
    apache_pid=
    apache_proxy_pid=
    trap 'for pid in $proxy_pid $nginx_pid $apache_proxy_pid $apache_pid; do kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; done; rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
}
