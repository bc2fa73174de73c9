# shellcheck shell=bash disable=SC2034  # BENCH_PORT, BENCH_URL are for the sourcing scripts
# bench/lib.sh: shared helpers for the benchmark scripts; source it, don't run it.
#
# Provides: prerequisite checks with Debian install hints, a throw-away nginx
# on 127.0.0.1 serving a generated 4096-byte /4k.bin (everything it writes goes
# into one mktemp directory; /etc/nginx, /var/log/nginx and /var/lib/nginx are
# never touched), free-port discovery, and small number helpers.
#
# Environment read here:
#   GOFR_SIM          gofr-sim binary (default build/gofr-sim, from the repo root)
#   NGINX             nginx binary (default /usr/sbin/nginx)
#   BENCH_PORT_FIRST  first port to try for nginx (default 18080)
#   GOFR_SIM_HTTP_ENGINE  auto|curl|native: sim.http's engine for the gofr-sim
#                     runs (issue 14); exported as given (default auto), see
#                     bench_engine

# The repository root; the scripts run from there so relative paths
# (build/gofr-sim, bench/*.lua) work from any working directory.
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Resolve GOFR_SIM before changing directory: a relative path given by the
# caller is taken from the caller's directory when it exists there.
GOFR_SIM=${GOFR_SIM:-build/gofr-sim}
if [[ $GOFR_SIM != /* && $GOFR_SIM == */* && -e $GOFR_SIM ]]; then
  GOFR_SIM="$PWD/$GOFR_SIM"
elif [[ $GOFR_SIM != */* ]] && command -v "$GOFR_SIM" >/dev/null 2>&1; then
  GOFR_SIM=$(command -v "$GOFR_SIM")
fi
NGINX=${NGINX:-/usr/sbin/nginx}
cd "$BENCH_ROOT" || exit 2

BENCH_TMP=""        # scratch directory, removed on exit
BENCH_NGINX_PID=""  # nginx master process, stopped on exit
BENCH_PORT=""       # port nginx listens on
BENCH_URL=""        # http://127.0.0.1:$BENCH_PORT/4k.bin

bench_log() { printf '%s\n' "$*" >&2; }

# sim.http's engine for every gofr-sim the scripts start (issue 14): auto
# (native for plain http://, libcurl otherwise), curl or native.
GOFR_SIM_HTTP_ENGINE=${GOFR_SIM_HTTP_ENGINE:-auto}
case $GOFR_SIM_HTTP_ENGINE in
  auto | curl | native) export GOFR_SIM_HTTP_ENGINE ;;
  *) printf 'error: GOFR_SIM_HTTP_ENGINE must be auto, curl or native, not %s\n' "$GOFR_SIM_HTTP_ENGINE" >&2; exit 2 ;;
esac

# bench_engine — the engine the gofr-sim runs measure, as the build itself
# reports it (bench/engine.lua); a build that ignores GOFR_SIM_HTTP_ENGINE
# says "curl" and names the ignored request.
bench_engine() {
  local line
  line=$("$GOFR_SIM" bench/engine.lua 2>&1 | grep '^engine: ' | tail -n 1) ||
    bench_die "$GOFR_SIM bench/engine.lua did not print its engine"
  echo "${line#engine: }"
}

# bench_wrk_ms VALUE — a wrk latency (850.00us, 50.32ms, 1.20s, 2.00m) in ms.
bench_wrk_ms() {
  awk -v v="$1" 'BEGIN {
    if (match(v, /^[0-9.]+/) == 0) exit 1
    n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1)
    if (u == "us") f = 0.001; else if (u == "ms") f = 1; else if (u == "s") f = 1000
    else if (u == "m") f = 60000; else exit 1
    printf "%.3f\n", n * f
  }'
}

# bench_ratio A B — A / B with two decimals, or n/a when B is not positive.
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "n/a" }'
}

# bench_verdict VALUE OP BAR — PASS or MISS: VALUE >= BAR (OP ge), <= (le) or < (lt).
bench_verdict() {
  awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {
    if (v == "n/a") { print "n/a"; exit }
    ok = (op == "ge") ? v + 0 >= b + 0 : (op == "le") ? v + 0 <= b + 0 : v + 0 < b + 0
    print ok ? "PASS" : "MISS"
  }'
}

# bench_run_failed WHAT RC OUT — prints the failed run's output, stops with status 3.
bench_run_failed() {
  bench_log "$1 failed (exit $2); its output:"
  tail -n 20 "$3" >&2
  exit 3
}
bench_die() { bench_log "error: $*"; exit 2; }

# bench_require WHAT... — WHAT is one of: nginx wrk h2load time gofr-sim.
# Reports every missing prerequisite with how to get it, then exits 2.
bench_require() {
  local what missing=0
  for what in "$@"; do
    case $what in
      nginx)
        if [[ ! -x $NGINX ]]; then
          bench_log "missing: $NGINX — install it with: apt-get install nginx-light"
          missing=1
        fi ;;
      wrk)
        if ! command -v wrk >/dev/null 2>&1; then
          bench_log "missing: wrk — install it with: apt-get install wrk"
          missing=1
        fi ;;
      h2load)
        if ! command -v h2load >/dev/null 2>&1; then
          bench_log "missing: h2load — install it with: apt-get install nghttp2-client"
          missing=1
        fi ;;
      time)
        if [[ ! -x /usr/bin/time ]]; then
          bench_log "missing: /usr/bin/time (GNU time) — install it with: apt-get install time"
          missing=1
        fi ;;
      gofr-sim)
        if [[ ! -x $GOFR_SIM ]]; then
          bench_log "missing: $GOFR_SIM — run make (or set GOFR_SIM to the gofr-sim binary)"
          missing=1
        fi ;;
      *) bench_die "bench_require: unknown prerequisite '$what'" ;;
    esac
  done
  for what in mktemp timeout awk sort; do
    if ! command -v "$what" >/dev/null 2>&1; then
      bench_log "missing: $what — install it with: apt-get install coreutils gawk"
      missing=1
    fi
  done
  if ((missing)); then
    exit 2
  fi
}

# bench_seconds DURATION — whole seconds (rounded up) in 10s, 500ms, 2m, 1h or 7.
bench_seconds() {
  awk -v d="$1" 'BEGIN {
    if (match(d, /^[0-9]+(\.[0-9]+)?/) == 0) exit 1
    n = substr(d, 1, RLENGTH); u = substr(d, RLENGTH + 1)
    if (u == "" || u == "s") s = n; else if (u == "ms") s = n / 1000
    else if (u == "m") s = n * 60; else if (u == "h") s = n * 3600; else exit 1
    if (s <= 0) exit 1
    printf "%d\n", (s == int(s)) ? s : int(s) + 1
  }' || bench_die "bad duration '$1' (use e.g. 10s, 500ms, 2m)"
}

# bench_median NUMBER... — the median (mean of the middle two for an even count).
bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
  }'
}

# bench_raise_nofile N — lift the soft open-files limit to N (or the hard limit).
bench_raise_nofile() {
  local want=$1 hard
  hard=$(ulimit -Hn)
  if [[ $hard != unlimited ]] && ((hard < want)); then
    want=$hard
  fi
  if (($(ulimit -Sn) < want)); then
    ulimit -Sn "$want" || bench_log "warning: could not raise the open-files limit to $want"
  fi
}

bench_tmpdir() {
  if [[ -z $BENCH_TMP ]]; then
    BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gofr-bench.XXXXXX") || bench_die "mktemp failed"
  fi
}

# True when something accepts connections on 127.0.0.1:PORT.
bench_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# bench_free_port [FIRST] — the first port from FIRST upward with no listener.
bench_free_port() {
  local port=${1:-${BENCH_PORT_FIRST:-18080}} last
  last=$((port + 200))
  while ((port <= last)); do
    if ! bench_port_in_use "$port"; then
      echo "$port"
      return 0
    fi
    port=$((port + 1))
  done
  return 1
}

bench_nginx_write_conf() {
  local dir=$1 port=$2 version_info temp_paths="" mod
  version_info=$("$NGINX" -V 2>&1)
  # Every temp path the binary knows about goes into the scratch directory,
  # so nginx never creates its compiled-in defaults under /var/lib/nginx.
  temp_paths+="    client_body_temp_path $dir/tmp/client_body;"$'\n'
  for mod in proxy fastcgi uwsgi scgi; do
    if [[ $version_info != *"--without-http_${mod}_module"* ]]; then
      temp_paths+="    ${mod}_temp_path $dir/tmp/$mod;"$'\n'
    fi
  done
  {
    # As root, keep the workers' identity so they can read the 0700 scratch dir.
    if ((EUID == 0)); then
      echo "user root;"
    fi
    cat <<CONF
worker_processes 1;
worker_rlimit_nofile 32768;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
    worker_connections 16384;
}

http {
    access_log off;
$temp_paths
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;

    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        root $dir/www;
        location / { }
    }
}
CONF
  } >"$dir/nginx.conf"
}

# Fetches http://127.0.0.1:PORT/PATH with bash alone; prints the status line.
bench_http_status() {
  local port=$1 path=$2 line=""
  {
    exec 3<>"/dev/tcp/127.0.0.1/$port" &&
      printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3 &&
      IFS= read -r -t 5 line <&3
    exec 3<&- 3>&-
  } 2>/dev/null
  printf '%s\n' "${line%$'\r'}"
}

# bench_nginx_start — starts nginx; sets BENCH_PORT, BENCH_URL, BENCH_NGINX_PID.
bench_nginx_start() {
  local dir port i status
  bench_tmpdir
  dir="$BENCH_TMP/nginx"
  mkdir -p "$dir/www" "$dir/tmp"
  head -c 4096 /dev/urandom >"$dir/www/4k.bin"
  port=${BENCH_PORT_FIRST:-18080}
  for _ in 1 2 3 4 5; do
    port=$(bench_free_port "$port") || bench_die "no free port from ${BENCH_PORT_FIRST:-18080} upward"
    bench_nginx_write_conf "$dir" "$port"
    : >"$dir/error.log"
    "$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >"$dir/stderr.log" 2>&1 &
    BENCH_NGINX_PID=$!
    for ((i = 0; i < 50; i++)); do
      if ! kill -0 "$BENCH_NGINX_PID" 2>/dev/null; then
        break
      fi
      if bench_port_in_use "$port"; then
        status=$(bench_http_status "$port" /4k.bin)
        if [[ $status != "HTTP/1."[01]" 200 "* ]]; then
          bench_log "nginx answered '$status' for /4k.bin; its messages:"
          cat "$dir/stderr.log" "$dir/error.log" >&2
          bench_die "nginx does not serve the test file"
        fi
        BENCH_PORT=$port
        BENCH_URL="http://127.0.0.1:$port/4k.bin"
        return 0
      fi
      sleep 0.1
    done
    # Not listening: it exited (port taken between the check and bind(), or a
    # bad configuration) or hangs. Stop it and try the next port if the port was the issue.
    bench_nginx_stop
    if ! grep -qs "Address already in use" "$dir/error.log" "$dir/stderr.log"; then
      bench_log "nginx did not start; its messages:"
      cat "$dir/stderr.log" "$dir/error.log" >&2
      bench_die "could not start nginx"
    fi
    port=$((port + 1))
  done
  bench_die "could not start nginx: ports kept being taken"
}

bench_nginx_stop() {
  local pid=$BENCH_NGINX_PID i kids=()
  [[ -n $pid ]] || return 0
  BENCH_NGINX_PID=""
  kill -QUIT "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    # Still there: kill the master and its workers (its children, by pid).
    read -r -a kids < <(cat "/proc/$pid/task/"*/children 2>/dev/null) || true
    kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  bench_nginx_stop
  if [[ -n $BENCH_TMP && -d $BENCH_TMP ]]; then
    rm -rf -- "$BENCH_TMP"
  fi
  BENCH_TMP=""
}

# Installs the cleanup: on normal exit, on error exit (set -e) and on SIGINT/SIGTERM.
bench_install_trap() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
