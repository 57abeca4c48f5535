#!/usr/bin/env bash
# make-image.sh OUT.tar [NAME] -- build a one-layer busybox image as a docker-archive
# (what `docker save` writes), offline, from Debian's busybox-static (see make-rootfs.sh).
# NAME defaults to busybox:latest. `kurma image import OUT.tar` (or docker load) loads it.
# The layer is reproducible: sorted entries, root ownership, a fixed mtime.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 OUT.tar [NAME]" >&2
    exit 2
fi
out=$1
name=${2:-busybox:latest}
here=$(cd "$(dirname "$0")" && pwd)
case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/make-rootfs.sh" "$tmp/rootfs" >/dev/null
tar -C "$tmp/rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$tmp/layer.tar" .
diff=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
cat > "$tmp/config.json" <<JSON
{"architecture":"$arch","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/make-image.sh (busybox-static)"}]}
JSON
cfg=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
mkdir "$tmp/image" "$tmp/image/$diff"
mv "$tmp/config.json" "$tmp/image/$cfg.json"
mv "$tmp/layer.tar" "$tmp/image/$diff/layer.tar"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$cfg" "$name" "$diff" > "$tmp/image/manifest.json"
tar -C "$tmp/image" --owner=0 --group=0 --numeric-owner -cf "$out.tmp" manifest.json "$cfg.json" "$diff/layer.tar"
mv "$out.tmp" "$out"
echo "$out: $name (sha256:$cfg)"
