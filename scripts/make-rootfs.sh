#!/usr/bin/env bash
# make-rootfs.sh DIR -- build a minimal busybox rootfs in DIR, offline.
#
# Uses Debian's busybox-static (/bin/busybox). Produces:
#   DIR/bin/busybox and a symlink DIR/bin/<applet> -> busybox for every applet,
#   DIR/{proc,sys,dev,tmp,etc,root} (tmp mode 1777),
#   DIR/etc/passwd and DIR/etc/group with root (0), kurma (1000) and nobody (65534).
# Idempotent: running it again on the same DIR refreshes everything and changes nothing else.
set -euo pipefail

BUSYBOX=${BUSYBOX:-/bin/busybox}

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1

if [ ! -x "$BUSYBOX" ]; then
    echo "make-rootfs.sh: $BUSYBOX not found; install it with: apt-get install -y busybox-static" >&2
    exit 1
fi
# A dynamically linked busybox would need the host's libc inside the rootfs.
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
    echo "make-rootfs.sh: $BUSYBOX does not work; install it with: apt-get install -y busybox-static" >&2
    exit 1
fi
if command -v file >/dev/null 2>&1 && file -L "$BUSYBOX" | grep -q 'dynamically linked'; then
    echo "make-rootfs.sh: $BUSYBOX is dynamically linked; install the static one with: apt-get install -y busybox-static" >&2
    exit 1
fi

mkdir -p "$dir"/{bin,proc,sys,dev,etc,root,tmp}
chmod 0755 "$dir" "$dir"/{bin,proc,sys,dev,etc}
chmod 0700 "$dir/root"
chmod 1777 "$dir/tmp"

# Copy only when changed, through a temp name so a running container never sees a half file.
if ! cmp -s "$BUSYBOX" "$dir/bin/busybox" 2>/dev/null; then
    cp "$BUSYBOX" "$dir/bin/.busybox.tmp"
    chmod 0755 "$dir/bin/.busybox.tmp"
    mv -f "$dir/bin/.busybox.tmp" "$dir/bin/busybox"
fi

# One symlink per applet. Links that point elsewhere are removed first (one `find` for all),
# so a re-run forks nothing per applet when everything is already in place.
find "$dir/bin" -mindepth 1 -maxdepth 1 -type l ! -lname busybox -delete
(
    cd "$dir/bin"
    for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] && continue
        if [ ! -L "$applet" ]; then
            [ -e "$applet" ] && rm -rf -- "$applet"
            ln -s busybox "$applet"
        fi
    done
)

cat > "$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
kurma:x:1000:1000:kurma:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$dir/etc/group" <<'GROUP'
root:x:0:
kurma:x:1000:
nogroup:x:65534:
GROUP
chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
