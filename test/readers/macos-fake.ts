/**
 * A fake macOS for running the generated up.sh/down.sh/routes.sh under a real
 * POSIX sh: `route`, `ifconfig`, `pfctl`, `scutil`, `wg` and `dscacheutil` are
 * small sh scripts that keep the system's state in files and fail the way the
 * real tools do where it matters (adding a route or an address alias that exists:
 * "File exists"; deleting a missing one; releasing an unknown pf token; loading an
 * anchor whose table file is missing). pfctl loads a table's `file "NAME"` from its
 * working directory, as the real one opens it, so the tables hold what the file does. The
 * state is a snapshot string, so a test can ask whether a second up.sh changes
 * anything and whether down.sh puts everything back.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const sh = (text: string): string => text.replaceAll('@{', '${');

// One file per route under sys/routes and nothing but sh builtins on the way (a
// profile has hundreds of routes). In these scripts `@{` stands for `${`.
const ROUTE = sh(String.raw`#!/bin/sh
# route -n add|delete -inet|-inet6 -net P -interface IF | -host A GW ; route -n get -inet|-inet6 default
S="$FAKE/sys/routes"
[ "$1" = -n ] || { echo "route: fake wants -n" >&2; exit 64; }
shift
op=$1
shift
if [ "$op" = get ]; then
	case "$1 $2" in
	"-inet default") printf '   route to: default\n    gateway: 192.0.2.1\n  interface: en0\n' ;;
	"-inet6 default") printf '   route to: default\n    gateway: fe80::1%%en0\n  interface: en0\n' ;;
	*) echo "route: fake get $*" >&2; exit 64 ;;
	esac
	exit 0
fi
fam=$1 kind=$2 dst=$3
shift 3 || exit 64
case "$op $fam $kind" in
"add -inet -net"|"add -inet6 -net"|"add -inet -host"|"add -inet6 -host"|"delete -inet -net"|"delete -inet6 -net"|"delete -inet -host"|"delete -inet6 -host") ;;
*) echo "route: fake: unexpected $op $fam $kind" >&2; exit 64 ;;
esac
case "$kind $dst" in
"-net "*/*|"-host "*) ;;
*) echo "route: fake: -net without a prefix length" >&2; exit 64 ;;
esac
case "$#:$1" in
"2:-interface") [ -d "$FAKE/sys/if/$2" ] || { echo "route: interface $2 does not exist" >&2; exit 1; } ;;
1:?*) ;;
*) echo "route: fake: bad gateway $*" >&2; exit 64 ;;
esac
f="$S/$fam$kind=@{dst%%/*}=@{dst#*/}"
if [ "$op" = add ]; then
	[ ! -e "$f" ] || { echo "route: writing to routing socket: File exists" >&2; exit 1; }
	echo "$*" > "$f"
else
	[ -e "$f" ] || { echo "route: writing to routing socket: not in table" >&2; exit 1; }
	rm "$f"
fi
`);

const IFCONFIG = String.raw`#!/bin/sh
# ifconfig IF ; ifconfig IF [inet|inet6] ADDR[/LEN] [DEST] [prefixlen N] [alias|-alias] [mtu N] [up|down] ; ifconfig IF mtu N
S="$FAKE/sys/if"
ifn=$1
d="$S/$ifn"
[ -n "$ifn" ] && [ -d "$d" ] || { echo "ifconfig: interface $ifn does not exist" >&2; exit 1; }
shift
touch "$d/addrs"
if [ $# -eq 0 ]; then
	printf '%s: flags=8051<%s> mtu %s\n' "$ifn" "$(cat "$d/state")" "$(cat "$d/mtu")"
	while read -r fam a; do
		if [ "$fam" = inet ]; then printf '\tinet %s netmask 0xffffffff\n' "$a"; else printf '\tinet6 %s prefixlen 128\n' "$a"; fi
	done < "$d/addrs"
	exit 0
fi
fam=inet
case "$1" in inet|inet6) fam=$1; shift ;; esac
addr='' alias='' del='' mtu='' updown=''
while [ $# -gt 0 ]; do
	case "$1" in
	alias) alias=1 ;;
	-alias) del=1 ;;
	mtu) mtu=$2; shift ;;
	up|down) updown=$1 ;;
	prefixlen|netmask) shift ;;
	*)
		case "$1" in *[!0-9a-fA-F.:/]*) echo "ifconfig: fake: unexpected $1" >&2; exit 64 ;; esac
		[ -n "$addr" ] || addr=$(printf '%s' "$1" | sed 's,/.*,,')
		;;
	esac
	shift
done
case "$mtu" in *[!0-9]*) echo "ifconfig: bad mtu $mtu" >&2; exit 1 ;; esac
if [ -n "$addr" ]; then
	has=$(awk -v l="$fam $addr" '$0 == l { print "y"; exit }' "$d/addrs")
	if [ -n "$del" ]; then
		[ -n "$has" ] || { echo "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address" >&2; exit 1; }
		awk -v l="$fam $addr" '$0 != l' "$d/addrs" > "$d/addrs.t"
	elif [ -n "$alias" ]; then
		[ -z "$has" ] || { echo "ifconfig: ioctl (SIOCAIFADDR): File exists" >&2; exit 1; }
		{ cat "$d/addrs"; echo "$fam $addr"; } > "$d/addrs.t"
	else
		# Without alias: the interface's first address of the family is replaced.
		{ awk -v f="$fam" 'done || $1 != f { print; next } { done = 1 }' "$d/addrs"; echo "$fam $addr"; } > "$d/addrs.t"
	fi
	sort "$d/addrs.t" > "$d/addrs"
	rm "$d/addrs.t"
fi
[ -z "$mtu" ] || echo "$mtu" > "$d/mtu"
if [ "$updown" = up ]; then echo UP > "$d/state"; elif [ "$updown" = down ]; then echo DOWN > "$d/state"; fi
exit 0
`;

const PFCTL = String.raw`#!/bin/sh
# pfctl [-q] [-a ANCHOR] (-f FILE|- | -F all | -s rules | -t T -T replace -f FILE) ; pfctl -E ; pfctl -X TOKEN
# The anchor's rules are kept as text, its tables (from table files or -T replace) as
# sorted files table.ANCHOR.NAME.
S="$FAKE/sys/pf"
anchor='' file='' cmd='' table='' tok=''
while [ $# -gt 0 ]; do
	case "$1" in
	-q) ;;
	-a) anchor=$2; shift ;;
	-f) file=$2; [ -n "$cmd" ] || cmd=load; shift ;;
	-F) [ "$2" = all ] || exit 64; cmd=flush; shift ;;
	-s) [ "$2" = rules ] || exit 64; cmd=show; shift ;;
	-E) cmd=enable ;;
	-X) cmd=release; tok=$2; shift ;;
	-t) table=$2; shift ;;
	-T) [ "$2" = replace ] || exit 64; cmd=replace; shift ;;
	*) echo "pfctl: fake: unexpected $1" >&2; exit 64 ;;
	esac
	shift
done
a=$(printf '%s' "$anchor" | tr '/' '_')
touch "$S/main" "$S/tokens"
case "$cmd" in
load)
	if [ "$file" = - ]; then tmp=$(cat); else tmp=$(cat "$file" 2>/dev/null) || tmp=''; fi
	if [ -n "$anchor" ]; then
		# A table's file "NAME" is opened as pfctl opens it (relative to the working
		# directory) and loaded with the anchor: all of it or, if one is missing, nothing.
		printf '%s\n' "$tmp" | sed -n 's/^table <\([A-Za-z0-9_]*\)>.* file "\([^"]*\)"$/\1 \2/p' > "$S/files.t"
		while read -r t f; do
			[ -f "$f" ] || { echo "pfctl: cannot load \"$f\": No such file or directory" >&2; rm -f "$S/files.t" "$S"/load.t.*; exit 1; }
			sed 's/#.*//' "$f" | tr -s ' \t' '\n\n' | grep -v '^$' | sort -u > "$S/load.t.$t" || :
		done < "$S/files.t"
		while read -r t f; do
			mv "$S/load.t.$t" "$S/table.$a.$t"
		done < "$S/files.t"
		rm -f "$S/files.t"
		printf '%s\n' "$tmp" > "$S/anchor.$a"
	elif [ "$file" = /etc/pf.conf ]; then
		cp "$S/main.boot" "$S/main"
	else
		printf '%s\n' "$tmp" | grep -v '^#' | grep -v '^$' > "$S/main" || :
	fi
	;;
flush) rm -f "$S/anchor.$a" "$S"/table."$a".* ;;
show) cat "$S/main" ;;
replace)
	[ -n "$anchor" ] && [ -n "$table" ] || exit 64
	sort -u "$file" > "$S/table.$a.$table"
	;;
enable)
	n=$(( $(cat "$FAKE/pf-counter" 2>/dev/null || echo 0) + 1 ))
	echo "$n" > "$FAKE/pf-counter"
	echo "$((1000 + n))" >> "$S/tokens"
	printf 'pf enabled\nToken : %s\n' "$((1000 + n))" >&2
	;;
release)
	grep -qxF -- "$tok" "$S/tokens" || { echo "pfctl: invalid token $tok" >&2; exit 1; }
	grep -vxF -- "$tok" "$S/tokens" > "$S/tokens.t" || :
	mv "$S/tokens.t" "$S/tokens"
	;;
*) echo "pfctl: fake: no command" >&2; exit 64 ;;
esac
`;

const SCUTIL = String.raw`#!/bin/sh
# scutil reading open/d.init/get/d.add K * V.../set/remove/show/quit from stdin.
S="$FAKE/sys/scutil"
enc() { printf '%s' "$1" | tr '/:' '__'; }
cur="$FAKE/tmp.scutil.$$"
: > "$cur"
while read -r cmd a b rest; do
	case "$cmd" in
	open|close|'') ;;
	'#'*) ;;
	quit) break ;;
	d.init) : > "$cur" ;;
	get) if [ -f "$S/$(enc "$a")" ]; then cp "$S/$(enc "$a")" "$cur"; else echo "  No such key"; fi ;;
	d.add)
		[ "$b" = '*' ] || { echo "scutil: fake: only arrays" >&2; exit 64; }
		{ awk -v k="$a" '$1 != k' "$cur"; echo "$a : $rest"; } | sort > "$cur.t"
		mv "$cur.t" "$cur"
		;;
	set) cp "$cur" "$S/$(enc "$a")" ;;
	remove) rm -f "$S/$(enc "$a")" ;;
	show)
		if [ -f "$S/$(enc "$a")" ]; then echo '<dictionary> {'; sed 's/^/  /' "$S/$(enc "$a")"; echo '}'; else echo '  No such key'; fi
		;;
	*) echo "scutil: fake: unexpected $cmd" >&2; rm -f "$cur"; exit 64 ;;
	esac
done
rm -f "$cur"
`;

const WG = '#!/bin/sh\nexit 0\n';
const DSCACHEUTIL = String.raw`#!/bin/sh
# dscacheutil -q host -a name NAME: one IPv4 and one IPv6 address per name.
printf 'name: %s\nip_address: 192.0.2.77\nipv6_address: 2001:db8:77::1\n\n' "$5"
`;

export interface FakeMacos {
  /** Environment for running a script on the fake. */
  readonly env: NodeJS.ProcessEnv;
  /** The whole fake system state (routes, interfaces, pf, dynamic store) and up.sh's state directory, as text. */
  snapshot(): string;
}

/**
 * A fake macOS under `dir`: interfaces lo0 (127.0.0.1) and en0, the utun
 * `utun` (MTU 1420, as wireguard-go creates it) unless null, an empty main pf
 * ruleset, and a primary service whose DNS is 192.168.1.1.
 */
export function fakeMacos(dir: string, utun: string | null): FakeMacos {
  const bin = join(dir, 'bin');
  const sys = join(dir, 'sys');
  for (const d of [bin, join(sys, 'if'), join(sys, 'pf'), join(sys, 'scutil')]) mkdirSync(d, { recursive: true });
  const tools: Record<string, string> = { route: ROUTE, ifconfig: IFCONFIG, pfctl: PFCTL, scutil: SCUTIL, wg: WG, dscacheutil: DSCACHEUTIL };
  for (const [name, text] of Object.entries(tools)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  const iface = (name: string, mtu: number, addrs: string[]): void => {
    mkdirSync(join(sys, 'if', name));
    writeFileSync(join(sys, 'if', name, 'mtu'), `${mtu}\n`);
    writeFileSync(join(sys, 'if', name, 'state'), 'UP\n');
    writeFileSync(join(sys, 'if', name, 'addrs'), addrs.map((a) => `${a}\n`).join(''));
  };
  iface('lo0', 16384, ['inet 127.0.0.1', 'inet6 ::1']);
  iface('en0', 1500, ['inet 192.0.2.10']);
  if (utun) iface(utun, 1420, []);
  mkdirSync(join(sys, 'routes'));
  writeFileSync(join(sys, 'routes', '-inet-net=0.0.0.0=0'), '192.0.2.1\n');
  writeFileSync(join(sys, 'pf', 'main.boot'), '');
  writeFileSync(join(sys, 'pf', 'main'), '');
  writeFileSync(join(sys, 'pf', 'tokens'), '');
  writeFileSync(join(sys, 'scutil', 'State__Network_Global_IPv4'), 'PrimaryService : 5C4B2A10-0000-4000-8000-00000000E0E0\n');
  writeFileSync(join(sys, 'scutil', 'State__Network_Service_5C4B2A10-0000-4000-8000-00000000E0E0_DNS'), 'ServerAddresses : 192.168.1.1\n');
  const state = join(dir, 'state');
  const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, FAKE: dir, WARPC_STATE_DIR: state, WARPC_PRIVATE_KEY: join(dir, 'no-key') };
  const walk = (root: string): string[] => {
    const out: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(root).sort();
    } catch {
      return out;
    }
    for (const n of names) {
      const p = join(root, n);
      if (statSync(p).isDirectory()) out.push(...walk(p));
      else out.push(`== ${relative(dir, p)}\n${readFileSync(p, 'utf8')}`);
    }
    return out;
  };
  return { env, snapshot: () => [...walk(sys), ...walk(state)].join('') };
}
