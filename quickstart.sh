#!/bin/sh
# Quick start: build Kurma, make a busybox image offline, import it, run a first container.
# Needs root, Temurin 25, Maven, gcc and Debian's busybox-static (see README).
set -e
cd "$(dirname "$0")"
./build.sh
mkdir -p target
scripts/make-image.sh target/busybox.tar >/dev/null
bin/kurma image import target/busybox.tar
exec bin/kurma run --rm busybox sh -c 'echo "Hello from a Kurma container: pid $$, user $(id -un), image busybox"'
