#!/bin/sh
# Test helper: run as `unshare -m --propagation private ip netns exec NS sh with-resolved.sh
# RESOLVED_ROOT WORKDIR -- CMD ARGS…`. Inside the private mount namespace only: a tmpfs on /run,
# passwd/group with a systemd-resolve user bind-mounted over /etc's, a D-Bus system bus of its
# own, and a real systemd-resolved (from RESOLVED_ROOT, a Debian package's files: / when
# installed, else an extracted .deb); then CMD replaces this shell (signals reach it). The PIDs
# of dbus-daemon and systemd-resolved are written to WORKDIR for the test to stop them.
set -eu
root=$1
work=$2
shift 3
bin=$root/lib/systemd/systemd-resolved
[ -x "$bin" ] || bin=$root/usr/lib/systemd/systemd-resolved
if [ -d "$root/usr/lib/x86_64-linux-gnu/systemd" ]; then
  LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu/systemd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
fi
mount -t tmpfs tmpfs /run
mount --bind "$work/passwd" /etc/passwd
mount --bind "$work/group" /etc/group
mkdir -p /run/dbus /run/systemd/resolve
chown systemd-resolve:systemd-resolve /run/systemd/resolve
dbus-daemon --config-file="$work/dbus.conf" --fork --print-pid >"$work/dbus.pid"
"$bin" >"$work/resolved.log" 2>&1 &
echo $! >"$work/resolved.pid"
i=0
until [ -S /run/systemd/resolve/io.systemd.Resolve ]; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "systemd-resolved did not start:" >&2
    cat "$work/resolved.log" >&2
    exit 1
  fi
  sleep 0.1
done
PATH=$root/usr/bin:$PATH
export PATH
exec "$@"
