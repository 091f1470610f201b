#!/usr/bin/env bash
# Tunnel benchmark: TCP throughput (iperf3) and idle ping latency from a device to an
# app behind a gateway, in one run, three ways:
#   direct     dev -> gw -> app over veths, no tunnel (MTU 1500)
#   wireguard  through wireguard-go on both ends (UDP 2408, MTU 1280)
#   masque     through warpc's MASQUE client and `warpc gateway` (CONNECT-IP over HTTP/2
#              over TLS 1.3 over TCP 443, MTU 1280)
# and the CPU the tunnel's own processes used per Gbit carried (user+system time of the
# two wireguard-go processes, or of the MASQUE client and gateway; the kernel's share,
# softirq included, is not attributed to any process and is not counted for any of them).
#
# Everything runs in three throwaway namespaces (deleted on exit); every process is
# stopped by PID. Usage: bench/tunnel/run.sh [SECONDS] [ROUNDS]   (root; `npm run build` first)
set -euo pipefail
SECS=${1:-5}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
CLIENT="$ROOT/dist/bench/tunnel/client.js"
[[ -f "$CLI" && -f "$CLIENT" ]] || { echo "run 'npm run build' first" >&2; exit 1; }
for t in ip iperf3 ping wireguard-go wg; do command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }; done

ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
DEV="warpc-bt-$ID-dev"; GW="warpc-bt-$ID-gw"; APP="warpc-bt-$ID-app"
WGD="wbd$ID"; WGG="wbg$ID"; MQD="mbd$ID"; MQG="mbg$ID"
TMP=$(mktemp -d)
PIDS=()
# BENCH_PROFILE_DIR: write V8 CPU profiles of the MASQUE client and gateway there (where the time goes).
PROF=()
if [[ -n "${BENCH_PROFILE_DIR:-}" ]]; then mkdir -p "$BENCH_PROFILE_DIR"; PROF=(--cpu-prof --cpu-prof-dir "$BENCH_PROFILE_DIR"); PROF_WAIT=3; fi
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep "${PROF_WAIT:-0.5}"
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for ns in "$DEV" "$GW" "$APP"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f "/var/run/wireguard/$WGD.sock" "/var/run/wireguard/$WGG.sock"
  rm -rf "$TMP"
}
trap cleanup EXIT
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

for ns in "$DEV" "$GW" "$APP"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$DEV" link add eth0 type veth peer name d0 netns "$GW"
ip -n "$GW" link add a0 type veth peer name eth0 netns "$APP"
ip -n "$DEV" addr add 198.51.100.2/24 dev eth0; ip -n "$GW" addr add 198.51.100.1/24 dev d0
ip -n "$GW" addr add 203.0.113.1/24 dev a0; ip -n "$APP" addr add 203.0.113.10/24 dev eth0
for l in "$DEV eth0" "$GW d0" "$GW a0" "$APP eth0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$APP" route add default via 203.0.113.1
nsx "$GW" sysctl -qw net.ipv4.ip_forward=1

# Three tunnel addresses on the app side of the device, one per path: 10.9.0.1 direct,
# 10.9.0.2 via WireGuard, 10.9.0.3 via MASQUE (all on the app's lo; routes choose the path).
for a in 10.9.0.1 10.9.0.2 10.9.0.3; do ip -n "$APP" addr add "$a/32" dev lo; done
ip -n "$DEV" route add 10.9.0.1/32 via 198.51.100.1
ip -n "$GW" route add 10.9.0.0/24 via 203.0.113.10

# WireGuard (wireguard-go both ends), device 172.16.1.2, gateway end 172.16.1.1.
KD=$(wg genkey); KG=$(wg genkey); PD=$(echo "$KD" | wg pubkey); PG=$(echo "$KG" | wg pubkey)
echo "$KD" >"$TMP/kd"; echo "$KG" >"$TMP/kg"
WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error ip netns exec "$DEV" wireguard-go -f "$WGD" >/dev/null 2>&1 & PIDS+=($!); WGD_PID=$!
WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error ip netns exec "$GW" wireguard-go -f "$WGG" >/dev/null 2>&1 & PIDS+=($!); WGG_PID=$!
for _ in $(seq 100); do [[ -S /var/run/wireguard/$WGD.sock && -S /var/run/wireguard/$WGG.sock ]] && break; sleep 0.05; done
nsx "$GW" wg set "$WGG" private-key "$TMP/kg" listen-port 2408 peer "$PD" allowed-ips 172.16.1.2/32
nsx "$DEV" wg set "$WGD" private-key "$TMP/kd" peer "$PG" endpoint 198.51.100.1:2408 allowed-ips 0.0.0.0/0
ip -n "$DEV" addr add 172.16.1.2/32 dev "$WGD"; ip -n "$DEV" link set "$WGD" mtu 1280 up
ip -n "$GW" link set "$WGG" mtu 1280 up
ip -n "$GW" route add 172.16.1.2/32 dev "$WGG"
ip -n "$DEV" route add 10.9.0.2/32 dev "$WGD" src 172.16.1.2

# MASQUE: the gateway (warpc gateway) and the client (bench/tunnel/client.ts), device 172.16.2.2.
mkdir -p "$TMP/mc"
PIN_D=$(node -e "import('$ROOT/dist/src/runtime/masque/cert.js').then(async (m) => console.log((await m.loadOrCreateIdentity('$TMP/mc', { usage: 'client' })).pin))")
echo "sha256/$PIN_D 172.16.2.2/32 bench" >"$TMP/clients"
ip netns exec "$GW" node "${PROF[@]}" "$CLI" gateway --masque-listen 198.51.100.1:443 --masque-clients "$TMP/clients" --state-dir "$TMP/gws" --tun "$MQG" 2>"$TMP/gw.log" & PIDS+=($!); MQG_PID=$!
for _ in $(seq 200); do [[ -f $TMP/gws/masque.pin ]] && break; sleep 0.05; done
PIN_G=$(cat "$TMP/gws/masque.pin")
ip netns exec "$DEV" node "${PROF[@]}" "$CLIENT" "$MQD" 172.16.2.2/32 198.51.100.1:443 "$PIN_G" "$TMP/mc" >"$TMP/mc.out" 2>"$TMP/mc.log" & PIDS+=($!); MQD_PID=$!
for _ in $(seq 200); do grep -q ready "$TMP/mc.out" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$TMP/mc.out" || { echo "MASQUE client did not connect:"; cat "$TMP/mc.log" "$TMP/gw.log"; exit 1; }
ip -n "$DEV" route add 10.9.0.3/32 dev "$MQD" src 172.16.2.2

ip netns exec "$APP" iperf3 -s -D -I "$TMP/iperf.pid" --logfile "$TMP/iperf.log"
sleep 0.3; PIDS+=($(cat "$TMP/iperf.pid"))
nsx "$DEV" ping -c 3 -W 2 10.9.0.2 >/dev/null # WireGuard handshake

cpu() { local t=0; for p in "$@"; do read -r -a f <"/proc/$p/stat"; t=$((t + f[13] + f[14])); done; echo "$t"; } # clock ticks
HZ=$(getconf CLK_TCK)
declare -A BPS LAT CPUG
for r in $(seq "$ROUNDS"); do
  for path in direct wireguard masque; do
    case $path in direct) dst=10.9.0.1; procs=();; wireguard) dst=10.9.0.2; procs=($WGD_PID $WGG_PID);; masque) dst=10.9.0.3; procs=($MQD_PID $MQG_PID);; esac
    c0=$(cpu "${procs[@]}")
    bps=$(nsx "$DEV" iperf3 -c "$dst" -t "$SECS" -J | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).end.sum_received.bits_per_second))")
    c1=$(cpu "${procs[@]}")
    lat=$(nsx "$DEV" ping -q -c 40 -i 0.05 "$dst" | sed -n 's#.*= [0-9.]*/\([0-9.]*\)/.*#\1#p')
    BPS[$path]+="$bps "; LAT[$path]+="$lat "
    CPUG[$path]+="$(node -e "console.log(${#procs[@]} ? (($c1 - $c0) / $HZ) / ($bps * $SECS / 1e9) : 'n/a')") "
    echo "round $r $path: $(node -e "console.log(($bps/1e6).toFixed(0))") Mbit/s, ping avg $lat ms" >&2
  done
done
med() { node -e "const x=process.argv.slice(1).filter(v=>v!=='n/a').map(Number).sort((a,b)=>a-b);console.log(x.length?x[Math.floor(x.length/2)]:'n/a')" $1; }
echo
echo "| path | TCP throughput (Mbit/s, median of $ROUNDS x ${SECS}s) | vs wireguard-go | ping avg (ms, idle) | added vs direct (ms) | tunnel CPU s per Gbit |"
echo "|---|---|---|---|---|---|"
WB=$(med "${BPS[wireguard]}"); DL=$(med "${LAT[direct]}")
for path in direct wireguard masque; do
  b=$(med "${BPS[$path]}"); l=$(med "${LAT[$path]}"); c=$(med "${CPUG[$path]}")
  node -e "const [p,b,l,c,wb,dl]=process.argv.slice(1);console.log('| '+p+' | '+(b/1e6).toFixed(0)+' | '+(b/wb).toFixed(2)+' | '+Number(l).toFixed(3)+' | '+(l-dl).toFixed(3)+' | '+(c==='n/a'?'n/a (kernel)':Number(c).toFixed(2))+' |')" "$path" "$b" "$l" "$c" "$WB" "$DL"
done
