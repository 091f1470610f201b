#!/usr/bin/env bash
# Soak: warpc's DNS proxy under dnsperf at half its measured peak for $SOAK_SECONDS (default 600),
# with a mix of cached, uncached, Local Domain Fallback and NXDOMAIN names, RSS sampled every 10 s.
# Pass: the proxy is alive at the end, and its RSS after warm-up grows by at most 10%. Warm-up: the
# cache filled to its bound first (SOAK_FILL unique names at full speed, more than the bound holds),
# then the first minute of the soak (V8's heap settling around the full cache).
#
#   warpc   127.0.2.2:53 -> DoH (dnsdist DoH frontend 127.0.3.4:443, no cache) -> unbound 127.0.3.1
#                        -> fallback fb.test -> dnsmasq 127.0.3.3
#   names (round robin): c<1..1000>.bench.test (cached), u<n>.bench.test (unique: uncached),
#                        f<1..1000>.fb.test (fallback, cached at most 5 s), n<n>.nx.test (unique NXDOMAIN)
#
# Usage: bench/runtime/soak.sh [SECONDS]   (root; `npm run build` first; everything in one throwaway namespace)
#        SOAK_NODE_FLAGS=--trace-gc SOAK_KEEP_LOG=/tmp/proxy.log bench/runtime/soak.sh 180   (GC trace kept)
set -euo pipefail
SECS=${1:-${SOAK_SECONDS:-600}}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
[[ -f "$CLI" ]] || { echo "run 'npm run build' first ($CLI missing)" >&2; exit 1; }
for t in ip dnsperf dnsdist dnsmasq unbound openssl; do command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }; done
NS="warpc-soak-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
TMP=$(mktemp -d)
chmod 0755 "$TMP"
PIDS=()
cleanup() {
  if [[ -n "${SOAK_KEEP_LOG:-}" && -f "$TMP/warpc.log" ]]; then cp "$TMP/warpc.log" "$SOAK_KEEP_LOG"; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }
ip netns add "$NS"
ip -n "$NS" link set lo up
for a in 127.0.2.2 127.0.3.1 127.0.3.3 127.0.3.4; do ip -n "$NS" addr add "$a/32" dev lo 2>/dev/null || true; done

EC=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${EC[@]}" -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -days 2 -subj "/CN=warpc soak CA" 2>/dev/null
openssl req "${EC[@]}" -keyout "$TMP/key.pem" -out "$TMP/leaf.csr" -subj "/CN=gateway.bench" 2>/dev/null
printf 'subjectAltName=DNS:gateway.bench\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$TMP/leaf.ext"
openssl x509 -req -in "$TMP/leaf.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -out "$TMP/cert.pem" -days 2 -extfile "$TMP/leaf.ext" 2>/dev/null
chmod 0644 "$TMP/key.pem"

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
  local-zone: "nx.test." always_nxdomain
  num-queries-per-thread: 4096
remote-control:
  control-enable: no
EOF
ip netns exec "$NS" unbound -d -c "$TMP/unbound.conf" >"$TMP/unbound.log" 2>&1 &
PIDS+=($!)
cat >"$TMP/gateway.conf" <<EOF
setSecurityPollSuffix("")
setACL({"0.0.0.0/0"})
setLocal("127.0.3.4:53")
addDOHLocal("127.0.3.4:443", "$TMP/cert.pem", "$TMP/key.pem", "/dns-query", {idleTimeout=60})
newServer({address="127.0.3.1:53", checkInterval=3600})
EOF
ip netns exec "$NS" dnsdist --supervised --disable-syslog -C "$TMP/gateway.conf" >"$TMP/gateway.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
  --listen-address=127.0.3.3 --bind-interfaces --port=53 --address=/fb.test/10.0.0.1 --local-ttl=60 >"$TMP/dnsmasq.log" 2>&1 &
PIDS+=($!)
mkdir -p "$TMP/linux"
cat >"$TMP/linux/dns-proxy.json" <<EOF
{
  "version": 1,
  "listen": [{ "address": "127.0.2.2", "port": 53 }],
  "doh": { "url": "https://gateway.bench/dns-query", "addresses": ["127.0.3.4"], "via": "direct" },
  "fallback": [{ "suffix": "fb.test", "servers": [{ "address": "127.0.3.3", "path": "direct" }], "use_system_resolvers": false }],
  "search": [],
  "host_rules": [],
  "local_answers": [{ "name": "connectivity-check.warp-svc", "addresses": ["127.0.2.2", "127.0.2.3"], "ttl": 0 }]
}
EOF
# SOAK_NODE_FLAGS: extra node flags for the proxy (e.g. --trace-gc, to see the live heap after each GC).
# shellcheck disable=SC2086
ip netns exec "$NS" node ${SOAK_NODE_FLAGS:-} "$CLI" dns-proxy "$TMP/linux" --doh-ca "$TMP/ca.pem" --log-level warn >"$TMP/warpc.log" 2>&1 &
PROXY=$!
PIDS+=("$PROXY")
for s in 127.0.3.1 127.0.2.2; do
  for _ in $(seq 1 100); do in_ns dig "@$s" +tries=1 +time=1 ready.bench.test A 2>/dev/null | grep -q 'status: NOERROR' && break; sleep 0.2; done
done
in_ns dig @127.0.2.2 +tries=1 +time=2 x.fb.test | grep -q 'status: NOERROR' || { echo "fallback path not ready" >&2; cat "$TMP"/*.log >&2; exit 1; }
in_ns dig @127.0.2.2 +tries=1 +time=2 x.nx.test | grep -q 'status: NXDOMAIN' || { echo "NXDOMAIN path not ready" >&2; exit 1; }

N=4000000
FILL=${SOAK_FILL:-80000}
awk -v n="$FILL" 'BEGIN { for (i = 1; i <= n; i++) printf "w%d.bench.test A\n", i }' >"$TMP/fill.txt"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) { k = i % 4; if (k == 0) printf "c%d.bench.test A\n", i % 1000; else if (k == 1) printf "u%d.bench.test A\n", i; else if (k == 2) printf "f%d.fb.test A\n", i % 1000; else printf "n%d.nx.test A\n", i } }' >"$TMP/mix.txt"
head -n 400000 "$TMP/mix.txt" >"$TMP/peak.txt"
tail -n +400001 "$TMP/mix.txt" >"$TMP/soak.txt"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
peak=$(in_ns dnsperf -c 20 -T 1 -q 500 -t 2 -s 127.0.2.2 -d "$TMP/peak.txt" -l 10 -n 1 2>&1 | awk '/Queries per second/ { print $4 }')
rate=$(awk -v q="$peak" 'BEGIN { printf "%d", q / 2 }')
echo "peak (mix, 10 s): $peak qps; soak at $rate qps for $SECS s"
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$PROXY/status")
fill=$(in_ns dnsperf -c 20 -T 1 -q 500 -t 2 -s 127.0.2.2 -d "$TMP/fill.txt" -n 1 2>&1 | awk '/Queries completed/ { n = $3 } /Run time/ { t = $4 } END { printf "%s answered in %s s", n, t }')
echo "warm-up: $FILL unique names to fill the cache to its bound: $fill; RSS $rss0 kB before, $(awk '/VmRSS/ { print $2 }' "/proc/$PROXY/status") kB after"
rss() { awk '/VmRSS/ { print $2 }' "/proc/$PROXY/status" 2>/dev/null || echo dead; }
in_ns dnsperf -c 20 -T 1 -q 500 -t 2 -s 127.0.2.2 -d "$TMP/soak.txt" -l "$SECS" -Q "$rate" >"$TMP/dnsperf.txt" 2>&1 &
PERF=$!
SAMPLES=()
t=0
while kill -0 "$PERF" 2>/dev/null; do
  SAMPLES+=("$(rss)")
  echo "t=${t}s rss=${SAMPLES[-1]} kB"
  sleep 10
  t=$((t + 10))
done
wait "$PERF" || true
alive=no
kill -0 "$PROXY" 2>/dev/null && alive=yes
grep -E 'Queries sent|Queries completed|Queries lost|Response codes|Queries per second' "$TMP/dnsperf.txt"
printf '%s\n' "${SAMPLES[@]}" | awk -v alive="$alive" '
  { v[NR] = $1 } END {
    w = (NR > 6) ? 7 : 1; base = v[w]; max = 0; for (i = w; i <= NR; i++) if (v[i] + 0 > max) max = v[i] + 0
    printf "samples: %d every 10 s; RSS at 60 s: %d kB, max after: %d kB, at end: %d kB; growth after warm-up: %.1f%%; proxy alive at end: %s\n", NR, base, max, v[NR], (max - base) * 100 / base, alive
    # Once the cache is at its bound RSS should be flat: the second half of the run against its start.
    h = int((NR + 1) / 2); hmax = 0; for (i = h; i <= NR; i++) if (v[i] + 0 > hmax) hmax = v[i] + 0
    printf "second half (from %d s): RSS at its start %d kB, max %d kB: growth %.1f%%\n", (h - 1) * 10, v[h], hmax, (hmax - v[h]) * 100 / v[h]
  }'
echo "load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; node $(node --version)"
