#!/usr/bin/env bash
# The soak: the wsprobe daemon holds --connections against bench/churn_server.js, which ends a
# random --churn percent of its connections every second (half with a close frame, half
# without), for --minutes. Every --interval seconds it samples wsprobe's resident memory and
# open file descriptors, the sum of wsprobe_disconnects_total and the server's own count of
# connection ends. At the end it stops the churn, lets the counts settle and prints:
#   - the RSS slope after --warmup minutes (least squares, MB per hour; goal: flat, < 1 MB/h),
#   - whether wsprobe's disconnects equal the server's count of ends (goal: equal). The server
#     also counts the ends of upgrades wsprobe gave up on (a handshake that took longer than
#     connect_timeout on a loaded machine: a failure for wsprobe, an open connection for the
#     server), so the books are: server ends = wsprobe disconnects + (server upgrades - wsprobe
#     opens). Both comparisons are printed.
# Run it niced on a shared machine:
#   nice -n 10 bench/soak.sh [--connections 10000] [--minutes 30] [--interval 60] [--churn 1]
#                            [--warmup 5] [--ping-interval 10s] [--out DIR]
# Needs a built tree (scripts/setup.sh; WSPROBE_BUILD_DIR as there), node, npm and curl.
# Exits 0 when the slope is under 1 MB/h and the counts are equal, 1 otherwise, 2 on a setup
# error.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${WSPROBE_BUILD_DIR:-$repo/build}
bench_dir="$repo/bench"

connections=10000 minutes=30 interval=60 churn=1 warmup=5 ping_interval=10s out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --churn) churn=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --ping-interval) ping_interval=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

wsprobe="$build_dir/agent/wsprobe"
[ -x "$wsprobe" ] || { echo "soak.sh: no $wsprobe (run scripts/setup.sh)" >&2; exit 2; }
if [ ! -d "$bench_dir/node_modules/ws" ]; then
  (cd "$bench_dir" && npm install --no-audit --no-fund --silent)
fi
# Each side holds one descriptor per connection.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -le $((connections + 200)) ]; then
  echo "soak.sh: $connections connections need more than $(ulimit -n) open files" >&2
  exit 2
fi

work=${out:-$(mktemp -d /tmp/wsprobe-soak.XXXXXX)}
mkdir -p "$work"
server_pid="" agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  true
}
trap cleanup EXIT

node "$bench_dir/churn_server.js" --churn "$churn" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 200); do [ -s "$work/server.out" ] && break; sleep 0.05; done
server_port=$(head -n 1 "$work/server.out")
[ -n "$server_port" ] || { echo "soak.sh: the churn server did not start" >&2; exit 2; }

# A free port for wsprobe's listener (bound and released; the window is tiny).
web_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/wsprobe.toml" <<EOF
[web]
listen_address = "127.0.0.1:$web_port"

[[target]]
name = "soak"
url = "ws://127.0.0.1:$server_port/"
connections = $connections
ping_interval = "$ping_interval"
pong_timeout = "10s"
EOF
"$wsprobe" --config.file="$work/wsprobe.toml" --log.level=warn >"$work/wsprobe.log" 2>&1 &
agent_pid=$!

metrics() { curl -sS --max-time 20 "http://127.0.0.1:$web_port/metrics"; }
stats() { curl -sS --max-time 20 "http://127.0.0.1:$server_port/stats"; }
stat_of() {  # the value of key $1 in the server's /stats JSON on stdin (numbers only)
  sed -E "s/.*\"$1\":([0-9]+).*/\1/"
}
metric_sum() {  # the sum of every sample of metric $1 in the exposition on stdin
  awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%d\n", sum }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status"; }
fds() { ls "/proc/$agent_pid/fd" | wc -l; }

echo "soak: $connections connections, churn $churn %/s, $minutes min, a sample every $interval s; files in $work"
deadline=$((SECONDS + 600))
while :; do
  open=$(metrics 2>/dev/null | metric_sum wsprobe_connections_open) || open=0
  [ "$open" -ge $((connections * 98 / 100)) ] && break
  if [ $SECONDS -ge $deadline ] || ! kill -0 "$agent_pid" 2>/dev/null; then
    echo "soak.sh: only $open of $connections connections open after 10 min" >&2
    exit 2
  fi
  sleep 2
done
echo "soak: $open connections open after $SECONDS s"

samples="$work/samples.tsv"
printf 'minute\trss_mb\tfds\topen\twsprobe_disconnects\tserver_closes\tattempts\tfailures\n' | tee "$samples"
started=$SECONDS
next=$started
while [ $((SECONDS - started)) -le $((minutes * 60)) ]; do
  text=$(metrics)
  server=$(stats)
  printf '%.2f\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\n' "$(awk -v s=$((SECONDS - started)) 'BEGIN { print s / 60 }')" \
    "$(awk -v k="$(rss_kb)" 'BEGIN { print k / 1024 }')" "$(fds)" "$(metric_sum wsprobe_connections_open <<<"$text")" \
    "$(metric_sum wsprobe_disconnects_total <<<"$text")" "$(stat_of closes <<<"$server")" \
    "$(metric_sum wsprobe_connection_attempts_total <<<"$text")" \
    "$(metric_sum wsprobe_connection_failures_total <<<"$text")" | tee -a "$samples"
  next=$((next + interval))
  while [ $SECONDS -lt $next ] && [ $((SECONDS - started)) -le $((minutes * 60)) ]; do sleep 1; done
done

# Stop the churn; what is in flight settles within a reconnect or two.
kill -USR1 "$server_pid"
equal=no reconciled=no
for _ in $(seq 30); do
  sleep 2
  text=$(metrics)
  server=$(stats)
  disconnects=$(metric_sum wsprobe_disconnects_total <<<"$text")
  opens=$(metric_sum wsprobe_handshake_duration_seconds_count <<<"$text")
  closes=$(stat_of closes <<<"$server")
  upgrades=$(stat_of upgrades <<<"$server")
  if [ "$disconnects" = "$closes" ]; then equal=yes; fi
  if [ "$closes" -eq $((disconnects + upgrades - opens)) ]; then reconciled=yes; break; fi
done
client_ended=$(stat_of client_ended <<<"$server")
frames=$(stat_of churn_frames <<<"$server")
drops=$(stat_of churn_drops <<<"$server")
failures=$(metric_sum wsprobe_connection_failures_total <<<"$text")
attempts=$(metric_sum wsprobe_connection_attempts_total <<<"$text")
by_cause=$(awk '/^wsprobe_disconnects_total\{/ { match($0, /cause="[a-z_]+"/); c = substr($0, RSTART + 7, RLENGTH - 8);
                 sum[c] += $NF } END { for (c in sum) printf "%s=%d ", c, sum[c] }' <<<"$text")

slope=$(awk -F'\t' -v warmup="$warmup" 'NR > 1 && $1 >= warmup {
    x = $1 / 60; y = $2; n++; sx += x; sy += y; sxx += x * x; sxy += x * y }
  END { d = n * sxx - sx * sx; if (n < 3 || d == 0) print "nan"; else printf "%.3f\n", (n * sxy - sx * sy) / d }' "$samples")
read -r rss_first rss_last fds_min fds_max < <(awk -F'\t' -v warmup="$warmup" 'NR > 1 && $1 >= warmup {
    if (first == "") first = $2; last = $2; if (min == "" || $3 < min) min = $3; if ($3 > max) max = $3 }
  END { print first, last, min, max }' "$samples")

echo
echo "RSS after ${warmup} min warm-up: ${rss_first} MB -> ${rss_last} MB; slope ${slope} MB/h (goal < 1)"
echo "open fds after warm-up: ${fds_min}..${fds_max}"
echo "wsprobe_disconnects_total ${disconnects} (${by_cause% }), server's ends ${closes}" \
  "(close frames ${frames}, drops ${drops}, ended by wsprobe ${client_ended}): equal: ${equal}"
echo "wsprobe attempts ${attempts} = opens ${opens} + failures ${failures}; server upgrades ${upgrades}:" \
  "server ends = disconnects + (upgrades - opens) = $((disconnects + upgrades - opens)): ${reconciled}"
result=0
awk -v s="$slope" 'BEGIN { exit !(s != "nan" && s < 1) }' || result=1
[ "$reconciled" = yes ] || result=1
exit $result
