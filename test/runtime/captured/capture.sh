#!/bin/bash
# How test/runtime/captured/status-diff-*.json were made (root; touches only a
# namespace it creates and deletes): load a fixture's compiled routes and ruleset
# into a fresh network namespace (a veth carries the interface name), read them
# back with `ip -j` and `nft list table` ("clean"), then change them by
# hand -- delete one route, add one set element, add one host entry (an element
# with a timeout and its /32 or /128 route, as the agent does) -- and read again
# ("drifted"). test/runtime/status-diff.test.ts compares both with the plan.
#
#   capture.sh FIXTURE                                   (clean only)
#   capture.sh FIXTURE 'ROUTE-DEL ARGS' SET ELEMENT HOSTSET HOSTADDR 'HOST ROUTE' > status-diff-FIXTURE.json
#   capture.sh corporate-exclude "-4 route del throw 192.168.0.0/16 table 65743" direct4 198.18.5.5 host_bypass4 198.19.0.7 "throw 198.19.0.7/32"
#   capture.sh include-only "-6 route del 2001:db8:100::/48 dev CloudflareWARP table 65743" tunnel6 2001:db8:beef::/64 host_tunnel6 2001:db8:7::5 "2001:db8:7::5/128 dev CloudflareWARP"
set -eu
dir=$(cd "$(dirname "$0")/../../.." && pwd)/fixtures/$1/expected/linux
setting() { python3 -c "import json,sys; print(eval('json.load(open(sys.argv[1]))' + sys.argv[2]))" "$dir/settings.json" "$1"; }
ifname=$(setting "['interface']['name']")
table=$(setting "['routing']['table']")
nt=$(setting "['nft_table']")
NS=warpc-cap$RANDOM$RANDOM
ip netns add "$NS"
trap 'ip netns del "$NS"' EXIT
ip -n "$NS" link set lo up
ip -n "$NS" link add "$ifname" type veth peer name "p$RANDOM"
ip -n "$NS" link set "$ifname" up
ip netns exec "$NS" ip -4 -batch "$dir/routes4.batch"
ip netns exec "$NS" ip -6 -batch "$dir/routes6.batch"
ip netns exec "$NS" nft -f "$dir/ruleset.nft"
capture() {
  python3 - "$NS" "$table" "$nt" <<'PY'
import json, subprocess, sys
ns, table, nt = sys.argv[1:4]
run = lambda *a: subprocess.run(['ip', 'netns', 'exec', ns, *a], capture_output=True, text=True, check=True).stdout
print(json.dumps({
  'rules4': run('ip', '-j', '-4', 'rule', 'show'), 'rules6': run('ip', '-j', '-6', 'rule', 'show'),
  'routes4': run('ip', '-j', '-4', 'route', 'show', 'table', table), 'routes6': run('ip', '-j', '-6', 'route', 'show', 'table', table),
  'nftText': run('nft', 'list', 'table', 'inet', nt)}))
PY
}
echo '{"clean":'
capture
# With the fixture alone: the clean capture only.
if [ $# -eq 1 ]; then echo '}'; exit 0; fi
# shellcheck disable=SC2086 # the route arguments are meant to split
ip netns exec "$NS" ip $2
ip netns exec "$NS" nft add element inet "$nt" "$3" "{ $4 }"
ip netns exec "$NS" nft add element inet "$nt" "$5" "{ $6 timeout 300s }"
# shellcheck disable=SC2086
ip netns exec "$NS" ip route replace $7 table "$table"
echo ',"drifted":'
capture
echo '}'
