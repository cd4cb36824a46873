#!/bin/sh
# Lays out the files of the lotus-rest runtime image (the Dockerfile's `runtime` stage copies them as they are):
#
#   OUT/rootfs/       /lotus-rest (static, stripped), /etc/passwd, /etc/group, /etc/nsswitch.conf,
#                     /etc/ssl/certs/ca-certificates.crt, /etc/lotus-rest/, /tmp (1777)
#   OUT/home/         the home of user lotus-rest (UID/GID 10001), copied with that owner
#
# Usage: rootfs.sh OUT BINARY [CA_BUNDLE]
# The binary must be statically linked: the runtime image has no C library.
set -eu

out=${1:?usage: rootfs.sh OUT BINARY [CA_BUNDLE]}
bin=${2:?usage: rootfs.sh OUT BINARY [CA_BUNDLE]}
ca=${3:-/etc/ssl/certs/ca-certificates.crt}
uid=10001

[ -f "$bin" ] || { echo "rootfs.sh: no binary at $bin" >&2; exit 1; }
[ -s "$ca" ] || { echo "rootfs.sh: no CA bundle at $ca (install ca-certificates)" >&2; exit 1; }
if readelf -lW "$bin" | grep -q 'program interpreter'; then
  echo "rootfs.sh: $bin is dynamically linked; build it with RUSTFLAGS='-C target-feature=+crt-static' and --target" >&2
  exit 1
fi

rm -rf "$out/rootfs" "$out/home"
install -d -m 0755 "$out/rootfs/etc/ssl/certs" "$out/rootfs/etc/lotus-rest"
install -d -m 1777 "$out/rootfs/tmp"
install -d -m 0755 "$out/rootfs/home"
install -m 0755 "$bin" "$out/rootfs/lotus-rest"
strip "$out/rootfs/lotus-rest"
install -m 0644 "$ca" "$out/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nlotus-rest:x:%s:%s:lotus-rest:/home/lotus-rest:/sbin/nologin\n' \
  "$uid" "$uid" >"$out/rootfs/etc/passwd"
printf 'root:x:0:\nlotus-rest:x:%s:\n' "$uid" >"$out/rootfs/etc/group"
# Host names (e.g. /dns/lotus/tcp/1234/http) are looked up in /etc/hosts, then DNS.
printf 'hosts: files dns\n' >"$out/rootfs/etc/nsswitch.conf"
chmod 0644 "$out/rootfs/etc/passwd" "$out/rootfs/etc/group" "$out/rootfs/etc/nsswitch.conf"
# ~/.lotus-rest holds the gateway's own JWT secret in `[Auth] Mode = "own"`; mount a volume there to keep it.
install -d -m 0755 "$out/home"
install -d -m 0700 "$out/home/.lotus-rest"
