#!/usr/bin/env bash
# A namespace-confined warpc demo: nothing outside the namespaces it creates is touched.
#
#   sudo contrib/demo/demo.sh up      # build the namespaces, compile a profile, start warpc up
#   sudo contrib/demo/demo.sh up masque  # the same over MASQUE (CONNECT-IP over HTTP/2, warpc gateway)
#   sudo contrib/demo/demo.sh status  # warpc status in the device namespace
#   sudo contrib/demo/demo.sh down    # warpc down, stop every process by PID, delete the namespaces
#
# Topology (namespaces ${PREFIX}-dev, -gw, -app):
#   dev 192.168.77.2 (eth0) ── gw 192.168.77.1: wireguard-go peer on :2408 (or, with `up masque`, warpc
#   gateway on TCP 443), dnsmasq + dnsdist (DoH on 203.0.113.53, blocks blocked.example.com), firewall
#   dropping TCP 8081 ── app 203.0.113.10 (HTTP 8080, 8081)
#
# Needs root and: iproute2 nftables wireguard-go wireguard-tools dnsdist dnsmasq openssl curl dnsutils, and
# a built warpc (npm ci && npm run build), or WARPC set to a command that runs it.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PREFIX=${WARPC_DEMO_PREFIX:-warpc-demo}
DIR=${WARPC_DEMO_DIR:-/tmp/${PREFIX}}
DEV_IF=${WARPC_DEMO_IF:-wqdemo0}
GW_IF=${WARPC_DEMO_GW_IF:-wgdemo0}
read -r -a WARPC <<<"${WARPC:-node ${REPO}/dist/src/cli/main.js}"

DEV=${PREFIX}-dev
GW=${PREFIX}-gw
APP=${PREFIX}-app

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
warpc() { in_ns "$DEV" "${WARPC[@]}" "$@"; }

# Start a process in a namespace in the background; remember its PID.
start() {
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" "$@" >"$DIR/$name.log" 2>&1 &
	echo $! >"$DIR/$name.pid"
}

wait_for() {
	local what=$1; shift
	for _ in $(seq 300); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "demo: $what did not come up (see $DIR/*.log)" >&2
	return 1
}

up() {
	local tunnel=${1:-wireguard}
	case "$tunnel" in wireguard | masque) ;; *) echo "demo: up wireguard|masque, not '$tunnel'" >&2; exit 2 ;; esac
	if ip netns list | grep -q "^${DEV}\b"; then echo "demo: already up (run: $0 down)" >&2; exit 1; fi
	mkdir -p "$DIR"/{pki,root/etc,state}
	chmod 755 "$DIR"
	for ns in "$DEV" "$GW" "$APP"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
	ip -n "$DEV" link add eth0 type veth peer name d0 netns "$GW"
	ip -n "$GW" link add a0 type veth peer name eth0 netns "$APP"
	ip -n "$DEV" addr add 192.168.77.2/24 dev eth0 && ip -n "$DEV" link set eth0 up
	ip -n "$GW" addr add 192.168.77.1/24 dev d0 && ip -n "$GW" link set d0 up
	ip -n "$GW" addr add 203.0.113.1/24 dev a0 && ip -n "$GW" link set a0 up
	ip -n "$APP" addr add 203.0.113.10/24 dev eth0 && ip -n "$APP" link set eth0 up
	ip -n "$DEV" route add default via 192.168.77.1
	ip -n "$APP" route add default via 203.0.113.1
	ip -n "$GW" addr add 203.0.113.53/32 dev lo
	in_ns "$GW" sysctl -qw net.ipv4.ip_forward=1

	if [ "$tunnel" = wireguard ]; then
		# The gateway's WireGuard peer.
		(umask 077 && wg genkey >"$DIR/gw.key")
		start wireguard-go "$GW" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$GW_IF"
		wait_for "wireguard-go" test -S "/var/run/wireguard/${GW_IF}.sock"
		in_ns "$GW" wg set "$GW_IF" private-key "$DIR/gw.key" listen-port 2408
		in_ns "$GW" ip addr add 172.16.0.1/32 dev "$GW_IF"
		in_ns "$GW" ip link set "$GW_IF" up
		in_ns "$GW" ip route add 172.16.0.2/32 dev "$GW_IF"
		tunnel_line="tunnel: { protocol: wireguard, endpoint: \"192.168.77.1:2408\", peer_public_key: \"$(wg pubkey <"$DIR/gw.key")\" }"
	else
		# The reference MASQUE gateway: its TUN takes the name GW_IF; clients are registered by pin
		# in a file it reads at every new session (the device's pin is known once warpc up made its key).
		: >"$DIR/masque-clients"
		start gateway "$GW" "${WARPC[@]}" gateway --masque-listen 192.168.77.1:443 --masque-clients "$DIR/masque-clients" \
			--state-dir "$DIR/gw-state" --tun "$GW_IF"
		wait_for "warpc gateway" grep -q 'listening on' "$DIR/gateway.log"
		tunnel_line="tunnel: { protocol: masque, endpoint: \"192.168.77.1:443\", peer_public_key: \"$(cat "$DIR/gw-state/masque.pin")\" }"
	fi
	printf 'table inet demo_gw {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  iifname "%s" tcp dport 8081 counter drop\n }\n}\n' "$GW_IF" | in_ns "$GW" nft -f -

	# The app, and the gateway's resolver: dnsmasq behind dnsdist (DoH, with a blocking policy).
	start app "$APP" node -e "const h=require('http');for(const p of [8080,8081])h.createServer((q,s)=>s.end('hello from the app on '+p+', you are '+q.socket.remoteAddress+'\n')).listen(p,'203.0.113.10')"
	wait_for "the app" in_ns "$GW" curl -so /dev/null -m 1 http://203.0.113.10:8080/
	start dnsmasq "$GW" dnsmasq -k -C /dev/null --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 --port=5301 --pid-file= --user=root --local-ttl=30 \
		--host-record=app.example.com,203.0.113.10 --host-record=blocked.example.com,203.0.113.99
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj '/CN=warpc demo CA' \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		-keyout "$DIR/pki/ca.key" -out "$DIR/pki/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=doh.demo.example' \
		-keyout "$DIR/pki/doh.key" -out "$DIR/pki/doh.csr" 2>/dev/null
	printf 'subjectAltName=DNS:doh.demo.example\nextendedKeyUsage=serverAuth\n' >"$DIR/pki/ext.cnf"
	openssl x509 -req -in "$DIR/pki/doh.csr" -CA "$DIR/pki/ca.pem" -CAkey "$DIR/pki/ca.key" -CAcreateserial -days 7 \
		-extfile "$DIR/pki/ext.cnf" -out "$DIR/pki/doh.pem" 2>/dev/null
	chmod 644 "$DIR/pki/doh.key"
	cat >"$DIR/dnsdist.conf" <<CONF
setLocal('127.0.0.1:5399')
addDOHLocal('203.0.113.53:443', '$DIR/pki/doh.pem', '$DIR/pki/doh.key', '/dns-query')
newServer({address='127.0.0.1:5301'})
addAction(QNameRule('blocked.example.com.'), RCodeAction(DNSRCode.NXDOMAIN))
CONF
	start dnsdist "$GW" dnsdist --supervised --disable-syslog -C "$DIR/dnsdist.conf"
	wait_for "dnsdist" in_ns "$GW" curl -so /dev/null --cacert "$DIR/pki/ca.pem" --resolve doh.demo.example:443:203.0.113.53 \
		'https://doh.demo.example/dns-query?dns=AAABAAABAAAAAAAAA2FwcAdleGFtcGxlA2NvbQAAAQAB'

	# The profile, compiled; the device's resolv.conf lives in $DIR/root (--root), not /etc.
	cat >"$DIR/profile.yaml" <<YAML
version: 1
name: demo
split_tunnel:
  mode: exclude
  entries:
    - { address: 192.168.0.0/16, description: the demo LAN }
fallback_domains:
  - { suffix: lan.example.net, description: the device's own resolver }
interface: { ipv4: 172.16.0.2, mtu: 1280 }
${tunnel_line}
dns: { doh_url: "https://doh.demo.example/dns-query", doh_addresses: [203.0.113.53], doh_via: tunnel }
targets:
  linux: { interface: ${DEV_IF} }
YAML
	printf '# the demo device resolv.conf\nnameserver 192.168.77.1\n' >"$DIR/root/etc/resolv.conf"
	"${WARPC[@]}" compile "$DIR/profile.yaml" --target linux --out "$DIR/out" >/dev/null

	start agent "$DEV" "${WARPC[@]}" up "$DIR/out/linux" --state-dir "$DIR/state" --root "$DIR/root" --doh-ca "$DIR/pki/ca.pem"
	wait_for "warpc up" grep -q 'warpc: up: ' "$DIR/agent.log"
	if [ "$tunnel" = wireguard ]; then
		in_ns "$GW" wg set "$GW_IF" peer "$(wg pubkey <"$DIR/state/private.key")" allowed-ips 172.16.0.2/32
		# The gateway learns the device's key only now, so a handshake the device tried earlier was
		# refused and WireGuard retries after 5 s: wait for the tunnel to carry a packet end to end.
	else
		# Register the device's MASQUE key (warpc up logged its pin); the client retries with backoff.
		pin=$(grep -o 'register sha256/[^ ]*' "$DIR/agent.log" | head -n 1 | cut -d' ' -f2)
		printf '%s 172.16.0.2/32 demo-device\n' "$pin" >"$DIR/masque-clients"
	fi
	wait_for "the tunnel handshake" in_ns "$DEV" ping -c 1 -W 1 203.0.113.10
	cat <<TXT
demo: up. The device namespace is $DEV; try:
  sudo ip netns exec $DEV ip route get 203.0.113.10           # dev $DEV_IF table 65743
  sudo ip netns exec $DEV curl http://203.0.113.10:8080/       # through the tunnel
  sudo ip netns exec $DEV curl -m 3 http://203.0.113.10:8081/  # dropped by the gateway firewall
  sudo ip netns exec $DEV dig @127.0.2.2 app.example.com       # DoH through the tunnel
  sudo ip netns exec $DEV dig @127.0.2.2 blocked.example.com   # NXDOMAIN: gateway policy
  cat $DIR/root/etc/resolv.conf                                # what warpc wrote
  sudo $0 status
  sudo $0 down
TXT
}

stop_pid() {
	local f=$DIR/$1.pid
	[ -f "$f" ] || return 0
	local pid
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

down() {
	if ip netns list | grep -q "^${DEV}\b"; then
		warpc down --state-dir "$DIR/state" || warpc recover --state-dir "$DIR/state" || true
	fi
	for p in agent dnsdist dnsmasq app wireguard-go gateway; do stop_pid "$p"; done
	for ns in "$DEV" "$GW" "$APP"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -f "/var/run/wireguard/${GW_IF}.sock" "/var/run/wireguard/${DEV_IF}.sock"
	if [ -f "$DIR/root/etc/resolv.conf" ]; then echo "demo: the device resolv.conf after down:"; cat "$DIR/root/etc/resolv.conf"; fi
	rm -rf "$DIR"
	echo "demo: down; namespaces deleted"
}

case "${1:-}" in
up) up "${2:-wireguard}" ;;
down) down ;;
status) warpc status --state-dir "$DIR/state" ;;
*) echo "usage: $0 up [wireguard|masque] | status | down" >&2; exit 2 ;;
esac
