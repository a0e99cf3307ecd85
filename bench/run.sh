#!/usr/bin/env bash
# Benchmarks against local Node servers (bench/echo_server.js: npm `ws` echo;
# bench/socketio_server.js: a default npm socket.io 4 server). Modes:
#   bench/run.sh compare [--connections 1000,10000] [--window 20] [--servers 1] [--ramp-timeout 120]
#       the reference client (bench/reference_client.c) and wsprobe one after
#       the other against the same echo server(s), 1 ping/s per connection, the
#       same window; one table with the ratios and SPEC's performance targets.
#       19,000 connections: --connections 19000 --servers 4 (a process here may
#       hold at most 20,000 open files, the servers too).
#   bench/run.sh socketio [--connections 10000] [--window 20] [--ramp-timeout 120]
#       wsprobe raw against the echo server, then protocol socketio against the
#       socket.io server: RSS, CPU per ping, memory per connection over raw.
#   bench/run.sh [--connections 10000] [--window 20] [--url-count K]
#       wsprobe alone (wsprobe_bench_hold; further options are passed on).
#   bench/run.sh targets [--targets 1000]
#       /metrics render and reloads (wsprobe_bench_targets).
# The machine is shared: run it as `nice -n 10 bench/run.sh ...`. Needs a
# built tree (WSPROBE_BUILD_DIR or ./build) and node with npm.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${WSPROBE_BUILD_DIR:-$repo/build}
bench_dir="$repo/bench"
if [ ! -d "$bench_dir/node_modules/ws" ] || [ ! -d "$bench_dir/node_modules/socket.io" ]; then
  (cd "$bench_dir" && npm ci --no-audit --no-fund --silent)
fi
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
server_pids=()
ports=()
stop_servers() {
  local pid
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  server_pids=()
  ports=()
}
trap 'stop_servers; rm -rf "$work"' EXIT

# start_server SCRIPT: starts one server process, appends its port to ports.
start_server() {
  local port_file
  port_file=$(mktemp -p "$work")
  node --expose-gc "$bench_dir/$1" >"$port_file" &
  server_pids+=($!)
  for _ in $(seq 200); do [ -s "$port_file" ] && break; sleep 0.05; done
  if [ ! -s "$port_file" ]; then
    echo "bench: $1 did not start" >&2
    exit 1
  fi
  ports+=("$(head -n 1 "$port_file")")
}

load() { cut -d ' ' -f 1-3 /proc/loadavg; }
# The servers' CPU seconds so far (user + system, all server processes).
server_cpu() {
  local pid ticks=0
  for pid in "${server_pids[@]}"; do
    ticks=$((ticks + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  calc "$ticks / $(getconf CLK_TCK)"
}
# field KEY RESULT_LINE
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# calc AWK_EXPRESSION
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
# pass CONDITION (an awk expression)
pass() { if awk "BEGIN { exit !($1) }"; then echo pass; else echo FAIL; fi; }

machine_state() {
  echo "## machine"
  echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ), nproc $(nproc), load average $(load)," \
    "open files $(ulimit -n), kernel $(uname -r)"
  echo "tree $(git -C "$repo" log -1 --format='%h %s' 2>/dev/null | cut -c 1-100)"
  echo "busiest processes (%CPU since start, command):"
  ps -eo pcpu=,comm= --sort=-pcpu | head -n 6 | sed 's/^/    /'
  echo
}

# run_client LABEL COMMAND...: runs one client, shows its output, leaves its
# RESULT line in $result and the load averages around it in $load_before/after.
run_client() {
  local label=$1 output
  shift
  load_before=$(load)
  local cpu_before started=$SECONDS
  cpu_before=$(server_cpu)
  echo "### $label: $*" | sed "s|$build_dir/bench/||"
  if output=$("$@" 2>&1); then :; fi
  load_after=$(load)
  echo "$output" | grep -v '^RESULT' || true
  echo "load average before $load_before, after $load_after"
  echo "server process(es): $(calc "sprintf(\"%.1f\", $(server_cpu) - $cpu_before)") s CPU in this client's" \
    "$((SECONDS - started)) s (ramp, settle and window)"
  echo
  result=$(grep '^RESULT' <<<"$output" || true)
}

url_args() {
  local port path=$1
  for port in "${ports[@]}"; do printf -- '--url\nws://127.0.0.1:%s%s\n' "$port" "$path"; done
}

compare() {
  local counts=1000,10000 window=20 servers=1 ramp=120
  while [ $# -gt 0 ]; do
    case $1 in
      --connections) counts=$2; shift 2 ;;
      --ramp-timeout) ramp=$2; shift 2 ;;
      --window) window=$2; shift 2 ;;
      --servers) servers=$2; shift 2 ;;
      *) echo "compare: unknown option $1" >&2; exit 2 ;;
    esac
  done
  machine_state
  local rows=() checks=() notes=() failed=0 n urls ref wsp
  for n in ${counts//,/ }; do
    for _ in $(seq "$servers"); do start_server echo_server.js; done
    mapfile -t urls < <(url_args /)
    run_client "reference, $n connections" "$build_dir/bench/wsprobe_bench_reference" "${urls[@]}" \
      --connections "$n" --window "$window" --ramp-timeout "$ramp"
    ref=$result
    local ref_load="$load_before -> $load_after"
    run_client "wsprobe, $n connections" "$build_dir/bench/wsprobe_bench_hold" "${urls[@]}" \
      --connections "$n" --window "$window" --ramp-timeout "$ramp"
    wsp=$result
    local wsp_load="$load_before -> $load_after"
    stop_servers
    if [ -z "$ref" ] || [ -z "$wsp" ]; then
      rows+=("| $n | a client failed (its output is above) |")
      failed=1
      continue
    fi
    local rm rp5 rp9 rc wm wp5 wp9 wc wr wk mean_ratio cpu_ratio
    rm=$(field rtt_mean_us "$ref"); rp5=$(field rtt_p50_us "$ref"); rp9=$(field rtt_p99_us "$ref")
    rc=$(field cpu_per_ping_us "$ref")
    wm=$(field rtt_mean_us "$wsp"); wp5=$(field rtt_p50_us "$wsp"); wp9=$(field rtt_p99_us "$wsp")
    wc=$(field cpu_per_ping_us "$wsp"); wr=$(field rss_mb "$wsp"); wk=$(field kb_per_connection "$wsp")
    mean_ratio=$(calc "sprintf(\"%.2f\", $wm / $rm)")
    cpu_ratio=$(calc "sprintf(\"%.2f\", $wc / $rc)")
    local row="| $n | $(calc "sprintf(\"%.0f / %.0f / %.0f\", $rm, $rp5, $rp9)") |"
    row+=" $(calc "sprintf(\"%.0f / %.0f / %.0f\", $wm, $wp5, $wp9)") | ${mean_ratio}x |"
    row+=" $(calc "sprintf(\"%.1f\", $rc)") | $(calc "sprintf(\"%.1f\", $wc)") | ${cpu_ratio}x |"
    row+=" $(calc "sprintf(\"%.1f\", $wr)") | $(calc "sprintf(\"%.2f\", $wk)") |"
    row+=" $(field errors "$ref") / $(field errors "$wsp") | $ref_load | $wsp_load |"
    rows+=("$row")
    local c_mean c_p99 c_cpu c_rss c_err
    c_mean=$(pass "$wm <= 1.5 * $rm")
    c_p99=$(pass "$wp9 < 2000")
    c_err=$(pass "$(field errors "$ref") + $(field errors "$wsp") == 0")
    if [ "$n" = 10000 ]; then
      c_cpu=$(pass "$wc <= $rc"); c_rss=$(pass "$wr <= 45")
    else
      c_cpu="n/a"; c_rss="n/a"
    fi
    checks+=("| $n | $c_mean (${mean_ratio}x) | $c_p99 ($(calc "sprintf(\"%.2f\", $wp9 / 1000)") ms) | $c_cpu (${cpu_ratio}x) | $c_rss ($(calc "sprintf(\"%.1f\", $wr)") MB) | $c_err |")
    grep -q FAIL <<<"$c_mean $c_p99 $c_cpu $c_rss $c_err" && failed=1
    if awk "BEGIN { exit !($(field lag_mean_us "$ref") > 1000) }"; then
      notes+=("N=$n: the reference fell behind its own schedule (pings left $(field lag_mean_us "$ref") us late on average): the machine was too busy for these figures to describe the server")
    fi
  done
  echo "## reference and wsprobe, 1 ping/s per connection, ${window} s window, $servers echo server(s), nproc $(nproc)"
  echo "RTT in us (mean / p50 / p99); CPU per ping in us; RSS and KB per connection are wsprobe's;"
  echo "errors: failed attempts and lost connections from the start, pings unanswered (reference / wsprobe)."
  echo
  echo "| N | reference RTT | wsprobe RTT | mean ratio | reference CPU/ping | wsprobe CPU/ping | CPU ratio" \
    "| wsprobe RSS MB | KB/conn | errors | load ref (1/5/15 min) | load wsprobe |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "SPEC targets: mean <= 1.5x reference and p99 < 2 ms (at 1,000 and 10,000);" \
    "CPU/ping <= reference and RSS <= 45 MB (at 10,000)."
  echo
  echo "| N | mean <= 1.5x | p99 < 2 ms | CPU/ping <= ref | RSS <= 45 MB | no errors |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${checks[@]}"
  [ ${#notes[@]} -eq 0 ] || printf '%s\n' "${notes[@]}"
  echo
  echo "load average at the end $(load)"
  return $failed
}

socketio() {
  local n=10000 window=20 ramp=120
  while [ $# -gt 0 ]; do
    case $1 in
      --connections) n=$2; shift 2 ;;
      --ramp-timeout) ramp=$2; shift 2 ;;
      --window) window=$2; shift 2 ;;
      *) echo "socketio: unknown option $1" >&2; exit 2 ;;
    esac
  done
  machine_state
  local rows=() raw sio raw_load sio_load
  start_server echo_server.js
  run_client "wsprobe raw, $n connections (ws echo)" "$build_dir/bench/wsprobe_bench_hold" \
    --url "ws://127.0.0.1:${ports[0]}/" --protocol raw --connections "$n" --window "$window" --ramp-timeout "$ramp"
  raw=$result; raw_load="$load_before -> $load_after"
  stop_servers
  start_server socketio_server.js
  run_client "wsprobe socketio, $n connections (socket.io)" "$build_dir/bench/wsprobe_bench_hold" \
    --url "ws://127.0.0.1:${ports[0]}/socket.io/?EIO=4&transport=websocket" --protocol socketio \
    --connections "$n" --window "$window" --ramp-timeout "$ramp"
  sio=$result; sio_load="$load_before -> $load_after"
  stop_servers
  if [ -z "$raw" ] || [ -z "$sio" ]; then
    echo "a run failed (see above)"
    return 1
  fi
  echo "## wsprobe raw and socketio, $n connections, 1 ping/s per connection, ${window} s window, nproc $(nproc)"
  echo
  echo "| protocol | server | RSS MB | KB/conn | CPU/ping us | RTT mean / p50 / p99 us | errors | load (1/5/15 min) |"
  echo "|---|---|---|---|---|---|---|---|"
  local line label server load_range
  for label in raw socketio; do
    if [ $label = raw ]; then line=$raw server="ws 8.23.0 echo" load_range=$raw_load
    else line=$sio server="socket.io 4.8.1 default" load_range=$sio_load; fi
    echo "| $label | $server | $(calc "sprintf(\"%.1f\", $(field rss_mb "$line"))") |" \
      "$(calc "sprintf(\"%.2f\", $(field kb_per_connection "$line"))") |" \
      "$(calc "sprintf(\"%.1f\", $(field cpu_per_ping_us "$line"))") |" \
      "$(calc "sprintf(\"%.0f / %.0f / %.0f\", $(field rtt_mean_us "$line"), $(field rtt_p50_us "$line"), $(field rtt_p99_us "$line"))") |" \
      "$(field errors "$line") | $load_range |"
  done
  local delta
  delta=$(calc "sprintf(\"%+.2f\", $(field kb_per_connection "$sio") - $(field kb_per_connection "$raw"))")
  echo
  echo "socketio over raw: $delta KB per held connection (budget +1 KB):" \
    "$(pass "$delta <= 1")"
  echo "load average at the end $(load)"
  [ "$(pass "$delta <= 1")" = pass ] && [ "$(field errors "$sio")" = 0 ] && [ "$(field errors "$raw")" = 0 ]
}

case ${1:-} in
  compare) shift; compare "$@" ;;
  socketio) shift; socketio "$@" ;;
  targets)
    shift
    start_server echo_server.js
    "$build_dir/bench/wsprobe_bench_targets" --url "ws://127.0.0.1:${ports[0]}/" "$@"
    ;;
  *)
    url_count=1
    args=()
    while [ $# -gt 0 ]; do
      if [ "$1" = --url-count ]; then url_count=$2; shift 2; else args+=("$1"); shift; fi
    done
    for _ in $(seq "$url_count"); do start_server echo_server.js; done
    mapfile -t urls < <(url_args /)
    "$build_dir/bench/wsprobe_bench_hold" "${urls[@]}" "${args[@]}"
    ;;
esac
