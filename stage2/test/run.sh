#!/bin/sh
# Builds kurma-stage2 and its test driver, prepares a busybox rootfs in a temporary directory
# and runs the driver's checks. Needs root. Exits non-zero if anything fails.
#   CC (default cc) and BUSYBOX (default /bin/busybox, statically linked) can be overridden.
set -eu

stage2=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}
busybox=${BUSYBOX:-/bin/busybox}
flags="-O2 -Wall -Wextra -Werror -D_GNU_SOURCE"

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the stage2 checks need root" >&2
	exit 1
fi
[ -x "$busybox" ] || { echo "run.sh: no busybox at $busybox" >&2; exit 1; }

mkdir -p "$stage2/target"
$cc $flags -o "$stage2/target/kurma-stage2" "$stage2/src/stage2.c"
$cc $flags -o "$stage2/target/stage2-driver" "$stage2/test/driver.c"

work=$(mktemp -d /tmp/kurma-stage2-test.XXXXXX)
cleanup() {
	# Every mount the checks make lives in a namespace that died with its process; refuse
	# to delete anything if one leaked into ours.
	if grep -q " $work" /proc/self/mountinfo; then
		echo "run.sh: mounts left under $work, not removing it" >&2
		exit 1
	fi
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/root/bin" "$work/root$work/escape" "$work/escape" "$work/escape2" "$work/state"
cp "$busybox" "$work/root/bin/busybox"
for applet in sh echo cat ls mount hostname wc grep readlink test; do
	ln -s busybox "$work/root/bin/$applet"
done
# Absolute symlinks to host paths: *_IN_ROOT must resolve them inside the rootfs.
ln -s "$work/escape" "$work/root/esc"
ln -s "$work/escape2" "$work/root/esc2"

"$stage2/target/stage2-driver" "$stage2/target/kurma-stage2" "$work"
