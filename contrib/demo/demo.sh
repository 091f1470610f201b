#!/usr/bin/env bash
# A namespace-confined warpc demo: nothing outside the namespaces it creates is touched.
#
#   sudo contrib/demo/demo.sh up         # orchestrator + gateway + two enrolled devices (warpc up, no folder)
#   sudo contrib/demo/demo.sh change [add|remove] [PREFIX]
#                                        # an admin API change: PREFIX (default 203.0.113.0/24, the app's
#                                        # network) added to / removed from the default profile's excludes
#   sudo contrib/demo/demo.sh up masque  # one device over MASQUE (CONNECT-IP over HTTP/2, warpc gateway), no orchestrator
#   sudo contrib/demo/demo.sh status     # warpc status in each device, the gateway's peers, the orchestrator's devices
#   sudo contrib/demo/demo.sh down       # warpc down in each device, stop every process by PID, delete the namespaces
#
# Topology of `up` (namespaces ${PREFIX}-gw, -app, -devA, -devB):
#   devA 192.168.77.2 (eth0) ─┐
#   devB 192.168.78.2 (eth0) ─┴─ gw 192.168.77.1 / 192.168.78.1; on its lo 198.51.100.1: the orchestrator (HTTPS
#        :8443, SQLite in $DIR/orch) and the WireGuard endpoint (:2408, wireguard-go on GW_IF, peers kept in
#        sync with the orchestrator's devices by `warpc gateway --orchestrator`); DoH by the same `warpc gateway
#        --doh-listen` (a supervised dnsdist in front of dnsmasq, blocking blocked.example.com) on 1.1.1.1:443, the
#        address the default profile's DoH URL cloudflare-dns.com has, with the certificate of the gateway's
#        generated CA ($DIR/gw-state/doh/ca.pem, the devices' --doh-ca); a firewall dropping TCP 8081 from the tunnel
#     ── app 203.0.113.10 (HTTP 8080, 8081)
# Each device is enrolled (`warpc enroll`) and runs `warpc up` with no folder in its own mount and PID
# namespaces with a private /run/wireguard (wireguard-go's UAPI socket path is not per network namespace,
# and both devices run the same bundle, so the same interface name).
# `up masque` keeps the single-device topology (${PREFIX}-dev, -gw, -app; dev 192.168.77.2).
#
# Needs root and: iproute2 nftables wireguard-go wireguard-tools dnsdist dnsmasq curl dnsutils jq
# util-linux (unshare, nsenter), and a built warpc (npm ci && npm run build), or WARPC set to a command that runs it.
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
DEVICES=(A B)
ORCH_ADDR=198.51.100.1
ORCH=https://${ORCH_ADDR}:8443
ACCOUNT=${ORCH}/client/v4/accounts/demo
# The default profile's DoH (https://cloudflare-dns.com/dns-query at these addresses): the demo's gateway
# answers on them inside its namespace, with a certificate the devices trust through --doh-ca.
DOH_ADDRS=(1.1.1.1 1.0.0.1 2606:4700:4700::1111 2606:4700:4700::1001)

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
warpc() { in_ns "$DEV" "${WARPC[@]}" "$@"; }
dev_ns() { echo "${PREFIX}-dev$1"; }

# Start a process in a namespace in the background; remember its PID.
start() {
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" "$@" >"$DIR/$name.log" 2>&1 &
	echo $! >"$DIR/$name.pid"
}

wait_for() {
	local what=$1 tries=300; shift
	if [[ $1 =~ ^[0-9]+$ ]]; then tries=$(($1 * 10)); shift; fi
	for _ in $(seq "$tries"); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "demo: $what did not come up (see $DIR/*.log)" >&2
	return 1
}

# The demo profile's policy (both demos); the MASQUE demo adds its interface and tunnel.
demo_profile() {
	cat <<'YAML'
version: 1
name: demo
split_tunnel:
  mode: exclude
  entries:
    - { address: 192.168.0.0/16, description: the demo LAN }
fallback_domains:
  - { suffix: lan.example.net, description: the device's own resolver }
YAML
}

# The app, and the gateway's real resolver (dnsmasq); the DoH in front of it is `warpc gateway --doh-listen`
# (dnsdist, supervised), with a block list. Its generated CA is what devices trust through --doh-ca.
start_app_and_upstream() {
	start app "$APP" node -e "const h=require('http');for(const p of [8080,8081])h.createServer((q,s)=>s.end('hello from the app on '+p+', you are '+q.socket.remoteAddress+'\n')).listen(p,'203.0.113.10')"
	wait_for "the app" in_ns "$GW" curl -so /dev/null -m 1 http://203.0.113.10:8080/
	start dnsmasq "$GW" dnsmasq -k -C /dev/null --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 --port=5301 --pid-file= --user=root --local-ttl=30 \
		--host-record=app.example.com,203.0.113.10 --host-record=blocked.example.com,203.0.113.99
	printf '# the gateway block list: these names and every name under them get NXDOMAIN\nblocked.example.com\n' >"$DIR/block-list"
}

# `warpc gateway`'s DoH flags: serve NAME on ADDR:443 in front of dnsmasq.
doh_flags() {
	DOH_FLAGS=(--doh-listen "$1:443" --doh-upstream 127.0.0.1:5301 --block-list "$DIR/block-list" --doh-name "$2")
}

# Wait until the gateway's DoH answers NAME at ADDR (with its generated CA).
wait_for_doh() {
	wait_for "the gateway's DoH" 60 grep -q 'doh: dnsdist started' "$DIR/gateway.log"
	wait_for "the gateway's DoH" in_ns "$GW" curl -so /dev/null --cacert "$DIR/gw-state/doh/ca.pem" --resolve "$2:443:$1" \
		"https://$2/dns-query?dns=AAABAAABAAAAAAAAA2FwcAdleGFtcGxlA2NvbQAAAQAB"
}

# The admin API (bearer: the admin token the demo created), from inside the gateway namespace.
admin() {
	local method=$1 path=$2
	in_ns "$GW" curl -sS --fail-with-body --cacert "$DIR/orch/ca.pem" -X "$method" -H "Authorization: Bearer $(cat "$DIR/tokens/admin")" \
		-H 'Content-Type: application/json' ${3+--data "$3"} "${ACCOUNT}${path}"
}

# The command that runs ARGS in device $1's network namespace with fresh mount and PID namespaces and a
# private /run/wireguard (`ip netns exec` execs unshare, whose child is pid 1 of the new PID namespace).
confined_cmd() {
	CONFINED=(ip netns exec "$(dev_ns "$1")" unshare -m -p -f --mount-proc --kill-child=SIGTERM --propagation private
		sh -c 'mount -t tmpfs -o mode=0700 tmpfs /run/wireguard && exec "$@"' sh)
}
dev_confined() {
	local d=$1; shift
	confined_cmd "$d"
	"${CONFINED[@]}" "$@"
}
# Host PID of device $1's agent: the child of the unshare recorded in agent-$1.pid, and only if it is
# in a PID namespace of its own (never pid 1 of ours).
agent_pid() {
	local f=$DIR/agent-$1.pid u child
	[ -f "$f" ] || return 1
	u=$(cat "$f")
	child=$(cat "/proc/$u/task/$u/children" 2>/dev/null) || return 1
	child=${child%% *}
	[ -n "$child" ] || return 1
	[ "$(readlink "/proc/$child/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] || return 1
	echo "$child"
}
# `warpc ARGS` inside device $1's network, mount and PID namespaces (where its agent runs: the
# journal's pid is the one the agent sees, 1).
dev_warpc() {
	local d=$1 pid; shift
	pid=$(agent_pid "$d") || { echo "demo: device $d: its agent is not running" >&2; return 1; }
	nsenter -t "$pid" -n -m -p -- "${WARPC[@]}" "$@" 2>&1
}
# Stop device $1's agent by PID: SIGTERM to the agent itself (unshare ignores SIGTERM while it waits),
# which restores the device and exits; then its unshare is gone too.
stop_agent() {
	local pid
	if pid=$(agent_pid "$1"); then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	stop_pid "agent-$1"
}

up_orchestrated() {
	local d n
	mkdir -p "$DIR"/{orch,tokens}
	chmod 755 "$DIR"
	chmod 700 "$DIR/tokens"
	echo orchestrated >"$DIR/mode"
	# wireguard-go creates /run/wireguard if it is missing; down removes it again then.
	[ -d /run/wireguard ] || { mkdir -p /run/wireguard && touch "$DIR/created-run-wireguard"; }
	for ns in "$GW" "$APP" "$(dev_ns A)" "$(dev_ns B)"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
	for d in "${DEVICES[@]}"; do
		n=$([ "$d" = A ] && echo 77 || echo 78)
		ip -n "$(dev_ns "$d")" link add eth0 type veth peer name "d$d" netns "$GW"
		ip -n "$(dev_ns "$d")" addr add "192.168.$n.2/24" dev eth0 && ip -n "$(dev_ns "$d")" link set eth0 up
		ip -n "$GW" addr add "192.168.$n.1/24" dev "d$d" && ip -n "$GW" link set "d$d" up
		ip -n "$(dev_ns "$d")" route add default via "192.168.$n.1"
		mkdir -p "$DIR/dev$d/root/etc"
		printf '# the demo device %s resolv.conf\nnameserver 192.168.%s.1\n' "$d" "$n" >"$DIR/dev$d/root/etc/resolv.conf"
	done
	ip -n "$GW" link add a0 type veth peer name eth0 netns "$APP"
	ip -n "$GW" addr add 203.0.113.1/24 dev a0 && ip -n "$GW" link set a0 up
	ip -n "$APP" addr add 203.0.113.10/24 dev eth0 && ip -n "$APP" link set eth0 up
	ip -n "$APP" route add default via 203.0.113.1
	ip -n "$GW" addr add "$ORCH_ADDR/32" dev lo
	for a in "${DOH_ADDRS[@]}"; do ip -n "$GW" addr add "$a" dev lo; done
	in_ns "$GW" sysctl -qw net.ipv4.ip_forward=1

	# The gateway's WireGuard interface; its peers are the orchestrator's devices (warpc gateway, below).
	(umask 077 && wg genkey >"$DIR/gw.key")
	start wireguard-go "$GW" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$GW_IF"
	wait_for "wireguard-go" test -S "/var/run/wireguard/${GW_IF}.sock"
	in_ns "$GW" wg set "$GW_IF" private-key "$DIR/gw.key" listen-port 2408
	in_ns "$GW" ip addr add 100.96.0.1/32 dev "$GW_IF"
	in_ns "$GW" ip addr add fd01:5ca1:ab1e::1/128 dev "$GW_IF"
	in_ns "$GW" ip link set "$GW_IF" up
	in_ns "$GW" ip route add 100.96.0.0/12 dev "$GW_IF"
	in_ns "$GW" ip route add fd01:5ca1:ab1e::/64 dev "$GW_IF"
	printf 'table inet demo_gw {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  iifname "%s" tcp dport 8081 counter drop\n }\n}\n' "$GW_IF" | in_ns "$GW" nft -f -
	start_app_and_upstream
	# The default profile's DoH addresses are all on the gateway's lo: dnsdist serves every IPv4 one.
	doh_flags 0.0.0.0 cloudflare-dns.com

	# The orchestrator: SQLite, its generated CA in $DIR/orch/ca.pem, every registration given the gateway as its peer.
	start orchestrator "$GW" "${WARPC[@]}" orchestrator serve --data "$DIR/orch" --listen "$ORCH_ADDR:8443" --hostname "$ORCH_ADDR" \
		--gateway-key "$(wg pubkey <"$DIR/gw.key")" --gateway-endpoint "$ORCH_ADDR:2408"
	wait_for "warpc orchestrator serve" 60 grep -q 'listening on' "$DIR/orchestrator.log"
	"${WARPC[@]}" orchestrator token create --data "$DIR/orch" --admin --label demo-admin 2>/dev/null >"$DIR/tokens/admin"
	"${WARPC[@]}" orchestrator token create --data "$DIR/orch" --enroll --expires 24h --uses 2 --label demo-devices 2>/dev/null >"$DIR/tokens/enroll"
	"${WARPC[@]}" orchestrator token create --data "$DIR/orch" --gateway --label demo-gateway 2>/dev/null >"$DIR/tokens/gateway"

	# The demo profile, published through the admin API: `warpc export --format cloudflare-api` writes the requests.
	demo_profile >"$DIR/profile.yaml"
	"${WARPC[@]}" export "$DIR/profile.yaml" --format cloudflare-api --out "$DIR/api" >/dev/null 2>&1
	jq -c '.requests[]' "$DIR/api/cloudflare-api.json" | while read -r r; do
		admin "$(jq -r .method <<<"$r")" "$(jq -r .path <<<"$r")" "$(jq -c .body <<<"$r")" >/dev/null
	done

	# The gateway's peer sync (warpc gateway --orchestrator): its WireGuard peers follow the enrolled devices.
	# The same process runs the DoH resolver the devices use.
	start gateway "$GW" "${WARPC[@]}" gateway --orchestrator "$ORCH" --token "$(cat "$DIR/tokens/gateway")" --interface "$GW_IF" \
		--ca "$DIR/orch/ca.pem" --state-dir "$DIR/gw-state" "${DOH_FLAGS[@]}"
	wait_for_doh 1.1.1.1 cloudflare-dns.com

	# Both devices enroll with the one token, then run the orchestrated agent.
	for d in "${DEVICES[@]}"; do
		in_ns "$(dev_ns "$d")" "${WARPC[@]}" enroll "$ORCH" --token "$(cat "$DIR/tokens/enroll")" --ca "$DIR/orch/ca.pem" \
			--state-dir "$DIR/dev$d/state" >"$DIR/enroll-$d.log" 2>&1
		confined_cmd "$d"
		"${CONFINED[@]}" "${WARPC[@]}" up --state-dir "$DIR/dev$d/state" --root "$DIR/dev$d/root" --doh-ca "$DIR/gw-state/doh/ca.pem" \
			>"$DIR/agent-$d.log" 2>&1 &
		echo $! >"$DIR/agent-$d.pid"
	done
	for d in "${DEVICES[@]}"; do
		# shellcheck disable=SC2016 # $1 is the inner sh's
		wait_for "device $d through the tunnel" 120 sh -c 'ip netns exec "$1" curl -s -m 1 http://203.0.113.10:8080/ | grep -q "you are 100\.96\."' sh "$(dev_ns "$d")"
	done
	cat <<TXT
demo: up. Devices $(dev_ns A) and $(dev_ns B), enrolled with the orchestrator at $ORCH (in $GW); try:
  sudo ip netns exec $(dev_ns A) curl http://203.0.113.10:8080/        # through the tunnel: you are 100.96.0.x
  sudo ip netns exec $(dev_ns B) curl http://203.0.113.10:8080/        # the other device, its own address
  sudo ip netns exec $(dev_ns A) ip route get 203.0.113.10             # dev CloudflareWARP table 65743
  sudo ip netns exec $(dev_ns A) curl -m 3 http://203.0.113.10:8081/   # dropped by the gateway firewall
  sudo ip netns exec $(dev_ns A) dig @127.0.2.2 app.example.com        # DoH through the tunnel
  sudo ip netns exec $(dev_ns A) dig @127.0.2.2 blocked.example.com    # NXDOMAIN: gateway policy
  sudo ip netns exec $GW wg show $GW_IF                       # one peer per device, from the orchestrator
  sudo $0 change add 203.0.113.0/24     # admin API: exclude the app's network; both devices go direct
  sudo $0 change remove 203.0.113.0/24  # and back through the tunnel
  sudo $0 status
  sudo $0 down
The admin API by hand (admin token in $DIR/tokens/admin, the orchestrator's CA in $DIR/orch/ca.pem):
  sudo ip netns exec $GW curl --cacert $DIR/orch/ca.pem -H "Authorization: Bearer \$(sudo cat $DIR/tokens/admin)" \\
    $ACCOUNT/devices/policy/exclude
TXT
}

# An admin change: PREFIX added to (or removed from) the default profile's exclude list with one PUT,
# then wait until both devices route it accordingly.
change() {
	local op=${1:-add} prefix=${2:-203.0.113.0/24} list new probe d t0 t1 want
	case "$op" in add | remove) ;; *) echo "demo: change add|remove [PREFIX], not '$op'" >&2; exit 2 ;; esac
	[ "$(cat "$DIR/mode" 2>/dev/null)" = orchestrated ] || { echo "demo: change needs the orchestrated demo (sudo $0 up)" >&2; exit 1; }
	list=$(admin GET /devices/policy/exclude | jq -c .result)
	if [ "$op" = add ]; then
		new=$(jq -c --arg p "$prefix" 'map(select(.address != $p)) + [{address: $p, description: "added by demo.sh change"}]' <<<"$list")
	else
		new=$(jq -c --arg p "$prefix" 'map(select(.address != $p))' <<<"$list")
	fi
	echo "demo: PUT $ACCOUNT/devices/policy/exclude"
	echo "  $new"
	t0=$(date +%s%N)
	admin PUT /devices/policy/exclude "$new" | jq -c '{success, messages: [.messages[]? | .message? // .]}'
	# The first address of the prefix: out through eth0 once excluded, through the tunnel otherwise.
	probe=${prefix%/*}
	[ "$op" = add ] && want='dev eth0' || want='dev CloudflareWARP'
	for d in "${DEVICES[@]}"; do
		# shellcheck disable=SC2016 # $1..$3 are the inner sh's
		wait_for "device $d routing $probe ($want)" 30 sh -c 'ip -n "$1" route get "$2" | grep -q "$3"' sh "$(dev_ns "$d")" "$probe" "$want"
	done
	t1=$(date +%s%N)
	echo "demo: both devices route $probe $want after $(((t1 - t0) / 1000000)) ms (the bundle version each runs: sudo $0 status)"
}

up_masque() {
	local tunnel=masque
	mkdir -p "$DIR"/{root/etc,state}
	chmod 755 "$DIR"
	echo masque >"$DIR/mode"
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

	# The reference MASQUE gateway: its TUN takes the name GW_IF; clients are registered by pin
	# in a file it reads at every new session (the device's pin is known once warpc up made its key).
	# The same process runs the DoH resolver (doh.demo.example on 203.0.113.53) in front of dnsmasq.
	: >"$DIR/masque-clients"
	start_app_and_upstream
	doh_flags 203.0.113.53 doh.demo.example
	start gateway "$GW" "${WARPC[@]}" gateway --masque-listen 192.168.77.1:443 --masque-clients "$DIR/masque-clients" \
		--state-dir "$DIR/gw-state" --tun "$GW_IF" "${DOH_FLAGS[@]}"
	wait_for "warpc gateway" grep -q 'listening on' "$DIR/gateway.log"
	wait_for_doh 203.0.113.53 doh.demo.example
	tunnel_line="tunnel: { protocol: masque, endpoint: \"192.168.77.1:443\", peer_public_key: \"$(cat "$DIR/gw-state/masque.pin")\" }"
	printf 'table inet demo_gw {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  iifname "%s" tcp dport 8081 counter drop\n }\n}\n' "$GW_IF" | in_ns "$GW" nft -f -

	# The profile, compiled; the device's resolv.conf lives in $DIR/root (--root), not /etc.
	{
		demo_profile
		cat <<YAML
interface: { ipv4: 172.16.0.2, mtu: 1280 }
${tunnel_line}
dns: { doh_url: "https://doh.demo.example/dns-query", doh_addresses: [203.0.113.53], doh_via: tunnel }
targets:
  linux: { interface: ${DEV_IF} }
YAML
	} >"$DIR/profile.yaml"
	printf '# the demo device resolv.conf\nnameserver 192.168.77.1\n' >"$DIR/root/etc/resolv.conf"
	"${WARPC[@]}" compile "$DIR/profile.yaml" --target linux --out "$DIR/out" >/dev/null

	start agent "$DEV" "${WARPC[@]}" up "$DIR/out/linux" --state-dir "$DIR/state" --root "$DIR/root" --doh-ca "$DIR/gw-state/doh/ca.pem"
	wait_for "warpc up" grep -q 'warpc: up: ' "$DIR/agent.log"
	# Register the device's MASQUE key (warpc up logged its pin); the client retries with backoff.
	pin=$(grep -o 'register sha256/[^ ]*' "$DIR/agent.log" | head -n 1 | cut -d' ' -f2)
	printf '%s 172.16.0.2/32 demo-device\n' "$pin" >"$DIR/masque-clients"
	wait_for "the tunnel" in_ns "$DEV" ping -c 1 -W 1 203.0.113.10
	cat <<TXT
demo: up ($tunnel). The device namespace is $DEV; try:
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

up() {
	local tunnel=${1:-wireguard}
	case "$tunnel" in wireguard | masque) ;; *) echo "demo: up [wireguard|masque], not '$tunnel'" >&2; exit 2 ;; esac
	if ip netns list | grep -q "^${GW}\b"; then echo "demo: already up (run: $0 down)" >&2; exit 1; fi
	trap '[ $? -eq 0 ] || echo "demo: up failed (see $DIR/*.log); clean up with: $0 down" >&2' EXIT
	if [ "$tunnel" = masque ]; then up_masque; else up_orchestrated; fi
}

status() {
	[ -f "$DIR/mode" ] || { echo "demo: not up (sudo $0 up)" >&2; exit 1; }
	if [ "$(cat "$DIR/mode")" != orchestrated ]; then warpc status --state-dir "$DIR/state"; return; fi
	local d
	for d in "${DEVICES[@]}"; do
		echo "== device $d ($(dev_ns "$d"))"
		dev_warpc "$d" status --state-dir "$DIR/dev$d/state" || true
	done
	echo "== the gateway's WireGuard peers ($GW_IF)"
	in_ns "$GW" wg show "$GW_IF" peers
	echo "== the orchestrator's devices (GET /devices): id, address, bundle served, bundle applied, last seen"
	admin GET /devices | jq -r '.result[] | [.id, .addresses.v4, .bundle.version, .bundle.applied_version, .last_seen] | @tsv'
}

# Whether PID runs (a zombie does not: the demo's daemons outlive the shell that started them, and
# not every PID 1 reaps orphans at once).
alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

stop_pid() {
	local f=$DIR/$1.pid
	[ -f "$f" ] || return 0
	local pid
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

down() {
	local d
	if ip netns list | grep -q "^${DEV}\b"; then
		warpc down --state-dir "$DIR/state" || warpc recover --state-dir "$DIR/state" || true
	fi
	for d in "${DEVICES[@]}"; do
		ip netns list | grep -q "^$(dev_ns "$d")\b" || continue
		# warpc down where the agent runs (its PID namespace: the journal's pid is the one it sees). When
		# the agent, pid 1 there, has restored the device and exits, the kernel ends the namespace's other
		# processes, warpc down too (its "Killed" is hidden): the journal says whether the device is restored.
		# With the agent gone, or its journal still open, recover from the journal.
		if agent_pid "$d" >/dev/null; then (dev_warpc "$d" down --state-dir "$DIR/dev$d/state") 2>/dev/null || true; fi
		if [ "$(jq -r .state "$DIR/dev$d/state/journal.json" 2>/dev/null)" = closed ]; then
			echo "demo: device $d restored (journal closed)"
		elif [ -f "$DIR/dev$d/state/journal.json" ]; then
			dev_confined "$d" "${WARPC[@]}" recover --state-dir "$DIR/dev$d/state" || true
		fi
	done
	for d in "${DEVICES[@]}"; do stop_agent "$d"; done
	for p in agent gateway orchestrator dnsmasq app wireguard-go; do stop_pid "$p"; done
	for ns in "$DEV" "$(dev_ns A)" "$(dev_ns B)" "$GW" "$APP"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -f "/var/run/wireguard/${GW_IF}.sock" "/var/run/wireguard/${DEV_IF}.sock"
	if [ -f "$DIR/created-run-wireguard" ]; then rmdir /run/wireguard 2>/dev/null || true; fi
	if [ -f "$DIR/root/etc/resolv.conf" ]; then echo "demo: the demo device resolv.conf after down:"; cat "$DIR/root/etc/resolv.conf"; fi
	for d in "${DEVICES[@]}"; do
		if [ -f "$DIR/dev$d/root/etc/resolv.conf" ]; then echo "demo: device $d's resolv.conf after down:"; cat "$DIR/dev$d/root/etc/resolv.conf"; fi
	done
	rm -rf "$DIR"
	echo "demo: down; namespaces deleted"
}

case "${1:-}" in
up) up "${2:-wireguard}" ;;
change) change "${2:-add}" "${3:-203.0.113.0/24}" ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up [wireguard|masque] | change [add|remove] [PREFIX] | status | down" >&2; exit 2 ;;
esac
