#!/usr/bin/env bash
# DNS proxy benchmark: dnsperf against warpc's proxy, dnsdist (packet cache) and
# dnsmasq, in one run, all forwarding to the same local upstream (unbound), with
# the same query files; cached and uncached; then latency at half of each one's
# cached peak.
#
# Everything runs inside one throwaway network namespace (deleted on exit);
# servers are pinned to CPU 1 and dnsperf to CPU 0, so each server gets one core,
# and every process of the benchmark (all three servers alike) runs at nice
# $BENCH_NICE (default -10) so that other work on a shared machine disturbs it less.
# The three servers under test are also held to $BENCH_CPU_QUOTA percent of that
# core (default 50, a cgroup-v1 CFS quota; 0 turns it off), so that the servers,
# not dnsperf on the other core, are what runs out first: without it all three
# top out at dnsperf's own rate and the comparison says nothing.
#
#   warpc    127.0.2.2:53  -> DoH (https://gateway.bench/dns-query @127.0.3.4:443,
#                             dnsdist DoH frontend, no cache) -> unbound 127.0.3.1
#   dnsdist  127.0.3.2:53  (packet cache)                      -> unbound 127.0.3.1
#   dnsmasq  127.0.3.3:53  (cache-size 10000)                  -> unbound 127.0.3.1
#   node-floor 127.0.3.5:53 (reference, cached runs only: a bare Node.js echo on node:dgram,
#                             the ceiling of any responder on node:dgram; warpc uses its
#                             native batch layer unless WARPC_UDP_BATCH=0)
#   c-floor  127.0.3.6:53    (reference, cached runs only: a C echo on recvmmsg/sendmmsg,
#                             bench/dns/c-floor.c: the kernel's floor for one thread)
#
# Usage: bench/dns/run.sh [SECONDS_PER_RUN]   (needs root, `npm run build` first)
set -euo pipefail

SECS=${1:-10}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
[[ -f "$CLI" ]] || { echo "run 'npm run build' first ($CLI missing)" >&2; exit 1; }
for t in ip dnsperf dnsdist dnsmasq unbound openssl taskset gcc; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

NS="warpc-bench-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
TMP=$(mktemp -d)
chmod 0755 "$TMP"
PIDS=()
cleanup() {
  # The daemons run as `ip netns exec` (which execs them), so these are their own PIDs;
  # anything else still inside the namespace is ours too.
  local all=("${PIDS[@]}")
  if ip netns pids "$NS" >/dev/null 2>&1; then mapfile -t -O "${#all[@]}" all < <(ip netns pids "$NS"); fi
  for pid in "${all[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.3
  done
  for pid in "${all[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  if [[ -n "$CGROUP" ]]; then rmdir "$CGROUP" 2>/dev/null || true; fi
  # BENCH_LOG_DIR: keep the daemons' logs (and dnsperf's latency dumps) there.
  if [[ -n "${BENCH_LOG_DIR:-}" ]]; then
    mkdir -p "$BENCH_LOG_DIR"
    cp "$TMP"/*.log "$TMP"/lat-*.txt "$BENCH_LOG_DIR"/ 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

NICE=${BENCH_NICE:--10}
QUOTA=${BENCH_CPU_QUOTA:-50}
CGROUP=""
in_ns() { ip netns exec "$NS" "$@"; }
# Daemons are started with `ip netns exec` directly (not through in_ns) so that $! is their PID.
ip netns add "$NS"
ip -n "$NS" link set lo up
for a in 127.0.2.2 127.0.3.1 127.0.3.2 127.0.3.3 127.0.3.4 127.0.3.5; do ip -n "$NS" addr add "$a/32" dev lo 2>/dev/null || true; done

# --- certificates for the DoH gateway -------------------------------------
EC=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${EC[@]}" -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -days 2 -subj "/CN=warpc bench CA" 2>/dev/null
openssl req "${EC[@]}" -keyout "$TMP/key.pem" -out "$TMP/leaf.csr" -subj "/CN=gateway.bench" 2>/dev/null
printf 'subjectAltName=DNS:gateway.bench\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$TMP/leaf.ext"
openssl x509 -req -in "$TMP/leaf.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -out "$TMP/cert.pem" -days 2 -extfile "$TMP/leaf.ext" 2>/dev/null
chmod 0644 "$TMP/key.pem"

# --- the shared upstream: unbound answering every name under bench.test ------
cat >"$TMP/unbound.conf" <<EOF
server:
  interface: 127.0.3.1
  port: 53
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$TMP"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  do-ip6: no
  access-control: 0.0.0.0/0 allow
  module-config: "iterator"
  local-zone: "." refuse
  local-zone: "bench.test." redirect
  local-data: "bench.test. 300 IN A 192.0.2.1"
  num-queries-per-thread: 4096
  so-rcvbuf: 4m
remote-control:
  control-enable: no
EOF
ip netns exec "$NS" nice -n "$NICE" taskset -c 1 unbound -d -c "$TMP/unbound.conf" >"$TMP/unbound.log" 2>&1 &
PIDS+=($!)

# --- the DoH gateway in front of it (no cache: uncached queries stay uncached) --
cat >"$TMP/gateway.conf" <<EOF
setSecurityPollSuffix("")
setACL({"0.0.0.0/0"})
setLocal("127.0.3.4:53")
addDOHLocal("127.0.3.4:443", "$TMP/cert.pem", "$TMP/key.pem", "/dns-query", {idleTimeout=60})
newServer({address="127.0.3.1:53", checkInterval=3600})
EOF
ip netns exec "$NS" nice -n "$NICE" taskset -c 1 dnsdist --supervised --disable-syslog -C "$TMP/gateway.conf" >"$TMP/gateway.log" 2>&1 &
PIDS+=($!)

# --- contender 1: dnsdist with its packet cache --------------------------------
cat >"$TMP/dnsdist.conf" <<EOF
setSecurityPollSuffix("")
setACL({"0.0.0.0/0"})
setLocal("127.0.3.2:53")
newServer({address="127.0.3.1:53", checkInterval=3600})
getPool(""):setCache(newPacketCache(100000))
EOF
ip netns exec "$NS" nice -n "$NICE" taskset -c 1 dnsdist --supervised --disable-syslog -C "$TMP/dnsdist.conf" >"$TMP/dnsdist.log" 2>&1 &
PIDS+=($!)

# --- contender 2: dnsmasq ------------------------------------------------------
ip netns exec "$NS" nice -n "$NICE" taskset -c 1 dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
  --listen-address=127.0.3.3 --bind-interfaces --port=53 --server=127.0.3.1 --cache-size=10000 --dns-forward-max=1000 \
  >"$TMP/dnsmasq.log" 2>&1 &
PIDS+=($!)

# --- warpc's proxy ----------------------------------------------------------------
mkdir -p "$TMP/linux"
cat >"$TMP/linux/dns-proxy.json" <<EOF
{
  "version": 1,
  "listen": [{ "address": "127.0.2.2", "port": 53 }],
  "doh": { "url": "https://gateway.bench/dns-query", "addresses": ["127.0.3.4"], "via": "direct" },
  "fallback": [],
  "search": [],
  "host_rules": [],
  "local_answers": [{ "name": "connectivity-check.warp-svc", "addresses": ["127.0.2.2", "127.0.2.3"], "ttl": 0 }]
}
EOF
# WARPC_NODE_ARGS: extra node flags for profiling, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
# shellcheck disable=SC2086
ip netns exec "$NS" nice -n "$NICE" taskset -c 1 node ${WARPC_NODE_ARGS:-} "$CLI" dns-proxy "$TMP/linux" --doh-ca "$TMP/ca.pem" --log-level warn >"$TMP/warpc.log" 2>&1 &
PIDS+=($!)

# --- reference: the floor of any Node.js UDP responder (sets QR and echoes; no DNS logic) ----
ip netns exec "$NS" nice -n "$NICE" taskset -c 1 node "$ROOT/bench/dns/node-floor.mjs" 127.0.3.5 53 >"$TMP/node-floor.log" 2>&1 &
PIDS+=($!)

# --- reference: the kernel's floor for one thread (recvmmsg/sendmmsg echo in C) ---------
gcc -O2 -Wall -Wextra -o "$TMP/c-floor" "$ROOT/bench/dns/c-floor.c"
ip netns exec "$NS" nice -n "$NICE" taskset -c 1 "$TMP/c-floor" 127.0.3.6 53 >"$TMP/c-floor.log" 2>&1 &
PIDS+=($!)

wait_ready() {
  for _ in $(seq 1 100); do
    if in_ns dig "@$1" +tries=1 +time=1 ready.bench.test A 2>/dev/null | grep -q 'status: NOERROR'; then return 0; fi
    sleep 0.2
  done
  echo "server $1 did not come up" >&2
  cat "$TMP"/*.log >&2
  exit 1
}
for s in 127.0.3.1 127.0.3.2 127.0.3.3 127.0.2.2 127.0.3.5 127.0.3.6; do wait_ready "$s"; done

# The servers under test, by the PIDs started above (dnsdist contender, dnsmasq, warpc, both floors).
SERVER_PIDS=("${PIDS[2]}" "${PIDS[3]}" "${PIDS[4]}" "${PIDS[5]}" "${PIDS[6]}")
if [[ "$QUOTA" != 0 ]]; then
  [[ -d /sys/fs/cgroup/cpu ]] || { echo "no cgroup-v1 cpu controller; run with BENCH_CPU_QUOTA=0" >&2; exit 1; }
  CGROUP="/sys/fs/cgroup/cpu/${NS}"
  mkdir "$CGROUP"
  echo 100000 >"$CGROUP/cpu.cfs_period_us"
  echo $((QUOTA * 1000)) >"$CGROUP/cpu.cfs_quota_us"
  for pid in "${SERVER_PIDS[@]}"; do echo "$pid" >"$CGROUP/cgroup.procs"; done
fi

# --- query files ------------------------------------------------------------------
for i in $(seq 1 1000); do echo "c$i.bench.test A"; done >"$TMP/cached.txt"
UNCACHED_N=900000
for s in warpc dnsdist dnsmasq; do
  awk -v p="$s" -v n="$UNCACHED_N" 'BEGIN { for (i = 1; i <= n; i++) printf "u%s%d.bench.test A\n", p, i }' >"$TMP/uncached-$s.txt"
done

declare -A ADDR=([warpc]=127.0.2.2 [dnsdist]=127.0.3.2 [dnsmasq]=127.0.3.3 [node-floor]=127.0.3.5 [c-floor]=127.0.3.6)
# Reference contenders: cached rounds only, not part of the comparison.
REFS=(node-floor c-floor)
read -r -a ORDER <<<"${BENCH_SERVERS:-warpc dnsdist dnsmasq}"
DNSPERF=(nice -n "$NICE" taskset -c 0 dnsperf -c 20 -T 1 -q 500 -t 2)

run_perf() { # server file seconds [extra...]
  local server=$1 file=$2 secs=$3
  shift 3
  in_ns "${DNSPERF[@]}" -s "${ADDR[$server]}" -d "$file" -l "$secs" "$@" 2>&1
}
field() { awk -v k="$1" '$0 ~ k { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print $i; exit } }'; }

declare -A CACHED UNCACHED P50 P99 AVG
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== warm-up (one pass over the cached file each)"
for s in "${ORDER[@]}"; do run_perf "$s" "$TMP/cached.txt" 30 -n 2 >/dev/null; done

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Rounds interleave the servers so background load on a shared machine hits all of them alike;
# each figure is the median of its rounds.
ROUNDS=${BENCH_ROUNDS:-3}
declare -A CACHED_ALL UNCACHED_ALL
echo "== cached, ${SECS}s per run, ${ROUNDS} rounds (${REFS[*]}: references, cached runs only)"
for r in $(seq 1 "$ROUNDS"); do
  for s in "${ORDER[@]}" "${REFS[@]}"; do
    out=$(run_perf "$s" "$TMP/cached.txt" "$SECS")
    qps=$(echo "$out" | field 'Queries per second')
    CACHED_ALL[$s]="${CACHED_ALL[$s]:-} $qps"
    echo "round $r $s: $qps qps (lost $(echo "$out" | awk '/Queries lost/ { print $3 }'))"
  done
done
for s in "${ORDER[@]}" "${REFS[@]}"; do CACHED[$s]=$(tr ' ' '\n' <<<"${CACHED_ALL[$s]}" | grep . | median); done

echo "== uncached (unique names, never repeated), ${SECS}s per run, ${ROUNDS} rounds"
for r in $(seq 1 "$ROUNDS"); do
  for s in "${ORDER[@]}"; do
    # Each round takes its own slice of the file, so no name is ever asked twice.
    n=$((UNCACHED_N / ROUNDS))
    sed -n "$(((r - 1) * n + 1)),$((r * n))p" "$TMP/uncached-$s.txt" >"$TMP/uncached-$s-$r.txt"
    out=$(run_perf "$s" "$TMP/uncached-$s-$r.txt" "$SECS" -n 1)
    qps=$(echo "$out" | field 'Queries per second')
    UNCACHED_ALL[$s]="${UNCACHED_ALL[$s]:-} $qps"
    echo "round $r $s: $qps qps (lost $(echo "$out" | awk '/Queries lost/ { print $3 }'))"
  done
done
for s in "${ORDER[@]}"; do UNCACHED[$s]=$(tr ' ' '\n' <<<"${UNCACHED_ALL[$s]}" | grep . | median); done

# CFS throttling adds its own stalls (up to a period) to whatever exhausts its quota,
# so the latency runs lift the quota: the rate is still half of each one's measured peak.
if [[ -n "$CGROUP" ]]; then echo -1 >"$CGROUP/cpu.cfs_quota_us"; fi
echo "== latency at half of each server's cached peak (quota lifted), ${SECS}s each"
for s in "${ORDER[@]}"; do
  rate=$(awk -v q="${CACHED[$s]}" 'BEGIN { printf "%d", q / 2 }')
  run_perf "$s" "$TMP/cached.txt" "$SECS" -Q "$rate" -v >"$TMP/lat-$s.txt"
  # -v prints one line per answer; its last field is the latency in seconds.
  read -r p50 p99 avg < <(awk '$1 == ">" { print $NF }' "$TMP/lat-$s.txt" | sort -g | awk '{ a[NR] = $1; s += $1 } END { printf "%.3f %.3f %.3f\n", a[int(NR * 0.5)] * 1000, a[int(NR * 0.99)] * 1000, s / NR * 1000 }')
  P50[$s]=$p50; P99[$s]=$p99; AVG[$s]=$avg
  echo "$s @ ${rate} qps: p50 ${p50} ms, p99 ${p99} ms, avg ${avg} ms"
done

echo
echo "| server | cached qps | uncached qps | latency at half cached peak: p50 / p99 / avg ms |"
echo "|---|---:|---:|---:|"
for s in "${ORDER[@]}"; do
  printf '| %s | %.0f | %.0f | %s / %s / %s |\n' "$s" "${CACHED[$s]}" "${UNCACHED[$s]}" "${P50[$s]}" "${P99[$s]}" "${AVG[$s]}"
done
printf '| node-floor (reference: bare Node.js UDP echo) | %.0f | - | - |\n' "${CACHED[node-floor]}"
printf '| c-floor (reference: C recvmmsg/sendmmsg echo) | %.0f | - | - |\n' "${CACHED[c-floor]}"
echo
awk -v w="${CACHED[warpc]}" -v d="${CACHED[dnsdist]}" -v m="${CACHED[dnsmasq]}" -v uw="${UNCACHED[warpc]}" -v ud="${UNCACHED[dnsdist]}" -v um="${UNCACHED[dnsmasq]}" 'BEGIN {
  printf "ratios: cached warpc/dnsdist %.2f, warpc/dnsmasq %.2f; uncached warpc/dnsdist %.2f, warpc/dnsmasq %.2f\n", w / d, w / m, uw / ud, uw / um
}'
awk -v w="${CACHED[warpc]}" -v f="${CACHED[node-floor]}" -v c="${CACHED[c-floor]}" 'BEGIN { printf "cached warpc / bare Node.js UDP echo: %.2f, warpc / C recvmmsg echo: %.2f\n", w / f, w / c }'
echo "servers held to ${QUOTA}% of one core for the qps runs (0: unlimited), unlimited for the latency runs; dnsperf has a core of its own"
echo "load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "versions: node $(node --version), $(dnsdist --version 2>/dev/null | head -1), $(dnsmasq --version | head -1 | cut -d' ' -f1-3), unbound $(unbound -V | awk '/Version/ { print $2 }'), $(dnsperf -h 2>&1 | awk '/^Version/ { print "dnsperf " $2 }')"
