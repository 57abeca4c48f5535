#!/bin/sh
# Quick start: build Kurma, make a busybox bundle offline, run a first container.
# Needs root, Temurin 25, Maven, gcc and Debian's busybox-static (see README).
set -e
cd "$(dirname "$0")"
./build.sh
b=target/quickstart
rm -rf "$b" && mkdir -p "$b"
scripts/make-rootfs.sh "$b/rootfs" >/dev/null
bin/kurma-runtime spec --bundle "$b"
# The default spec runs "sh"; run a one-line greeting instead.
sed -i 's/^      "sh"$/      "sh", "-c", "echo Hello from a Kurma container: pid $$, host $(hostname)"/' "$b/config.json"
exec bin/kurma-runtime --root /run/kurma run --bundle "$b" "quickstart-$$"
