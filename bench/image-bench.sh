#!/usr/bin/env bash
# bench/image-bench.sh [N] -- an image from a registry to a running container's root
# filesystem, as a user gets it: bin/kurma against skopeo + umoci, interleaved, same run.
#
# Builds a multi-layer image from real trees of this host (gzip layers made by GNU tar and
# added by umoci): a busybox root (scripts/make-rootfs.sh), then one layer per directory of
# TREES (default: the Perl and Python library trees Debian installs that exist here, tens of
# MB), pushes it with skopeo to Debian's docker-registry started on a loopback port (stopped by
# pid at exit), then N times (default 5), each from an empty store, interleaved:
#   kurma:  `kurma image pull IMAGE` (registry -> blob store, digests verified), then
#           `kurma run --rm IMAGE true`: every layer unpacked into its snapshot, the overlay
#           mounted, a container run and removed; two commands, JVM start-up included
#   skopeo: `skopeo copy docker://IMAGE oci:DIR:tag`, then `umoci unpack --image DIR:tag
#           BUNDLE` (the layers applied into one rootfs, a config.json written; nothing run)
# Prints the medians of each step and of the whole, and the ratio kurma/(skopeo+umoci).
# Needs root, a build (./build.sh), and docker-registry, skopeo, umoci, busybox-static.
set -euo pipefail
export LC_ALL=C

N=${1:-5}
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 1 )); then
    echo "usage: $0 [N]   (N runs each, default 5)" >&2
    exit 2
fi
if (( EUID != 0 )); then
    echo "image-bench.sh: must run as root (umoci unpack and kurma run make owners, devices, mounts)" >&2
    exit 1
fi
for t in docker-registry skopeo umoci curl; do
    command -v "$t" >/dev/null || { echo "image-bench.sh: $t is missing (apt-get install -y $t)" >&2; exit 1; }
done
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kurma=$repo/bin/kurma
[[ -f $repo/kurma-cli/target/kurma.jar ]] || { echo "image-bench.sh: not built; run ./build.sh" >&2; exit 1; }

. "$repo/bench/registry.sh"
# Not /tmp: on a tmpfs the unpacks would measure memory, not a disk.
work=$(mktemp -d /var/tmp/kurma-image-bench.XXXXXX)
cleanup() {
    stop_registry
    # Nothing is mounted under $work after a run --rm; should one be left (a run killed half-way),
    # leave the tree for a look rather than remove anything through a mount.
    if grep -q " $work/" /proc/self/mounts; then
        echo "image-bench.sh: mounts left under $work; not removing it" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

if [[ -z ${TREES:-} ]]; then
    TREES=""
    for d in /usr/share/perl /usr/lib/x86_64-linux-gnu/perl /usr/lib/python3 /usr/share/perl5; do
        [[ -d $d ]] && TREES+=" $d"
    done
fi

# The image: a busybox root (something to run), then the trees, one gzip layer each.
umoci init --layout "$work/oci"
umoci new --image "$work/oci:bench"
"$repo/scripts/make-rootfs.sh" "$work/busybox" >/dev/null
# GNU tar makes each layer (umoci insert 0.4.7 writes tars without their end blocks); umoci
# gzips it and adds it with its diff_id.
tar --xattrs -C "$work/busybox" -cf "$work/layer.tar" .
umoci raw add-layer --image "$work/oci:bench" "$work/layer.tar" >/dev/null
for d in $TREES; do
    tar --xattrs -C / -cf "$work/layer.tar" "${d#/}"
    umoci raw add-layer --image "$work/oci:bench" "$work/layer.tar" >/dev/null
done
rm -rf "$work/layer.tar" "$work/busybox"
start_registry "$work"
ref="127.0.0.1:$REG_PORT/bench/tree:v1"
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/oci:bench" "docker://$ref"
rm -rf "$work/oci"
layers=$(( $(wc -w <<< "$TREES") + 1 ))
mb=$(du -sm "$work/registry" | cut -f1)
entries=$(( $(find $TREES | wc -l) + $(/bin/busybox --list | wc -l) ))
echo "image: $layers gzip layers (busybox, then$TREES), $mb MB compressed, ~$entries entries"

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
record() { echo $(( ($3 - $2) / 1000 )) >>"$work/$1.ms"; }
k=(--root "$work/store" --runroot "$work/run")

for ((i = 1; i <= N; i++)); do
    # Alternate which goes first, so neither always finds the page cache warmed by the other.
    for side in $( ((i % 2)) && echo "kurma skopeo" || echo "skopeo kurma"); do
        if [[ $side == kurma ]]; then
            rm -rf "$work/store" "$work/run"
            t0=$(now_us)
            "$kurma" "${k[@]}" image pull -q "$ref" >/dev/null
            t1=$(now_us)
            "$kurma" "${k[@]}" run --rm "$ref" true
            t2=$(now_us)
            record kurma-pull "$t0" "$t1"
            record kurma-run "$t1" "$t2"
            record kurma "$t0" "$t2"
        else
            rm -rf "$work/copy" "$work/bundle"
            t0=$(now_us)
            skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$work/copy:v1" >/dev/null
            t1=$(now_us)
            umoci --log error unpack --image "$work/copy:v1" "$work/bundle" >/dev/null
            t2=$(now_us)
            record skopeo "$t0" "$t1"
            record umoci "$t1" "$t2"
            record reference "$t0" "$t2"
        fi
    done
    echo "run $i: kurma $(tail -1 "$work/kurma.ms") ms (pull $(tail -1 "$work/kurma-pull.ms") + run $(tail -1 "$work/kurma-run.ms")),"\
        "skopeo+umoci $(tail -1 "$work/reference.ms") ms (copy $(tail -1 "$work/skopeo.ms") + unpack $(tail -1 "$work/umoci.ms"))"
done
rm -rf "$work/store" "$work/run" "$work/copy" "$work/bundle"

m() { median <"$work/$1.ms"; }
printf 'median of %d, interleaved:\n' "$N"
printf '  kurma image pull                 %6s ms    skopeo copy docker:// oci:   %6s ms\n' "$(m kurma-pull)" "$(m skopeo)"
printf '  kurma run --rm IMAGE true        %6s ms    umoci unpack                 %6s ms\n' "$(m kurma-run)" "$(m umoci)"
printf '  kurma, both commands             %6s ms    skopeo + umoci               %6s ms\n' "$(m kurma)" "$(m reference)"
awk -v k="$(m kurma)" -v r="$(m reference)" -v kp="$(m kurma-pull)" -v s="$(m skopeo)" -v kr="$(m kurma-run)" -v u="$(m umoci)" \
    'BEGIN { printf "ratio kurma/(skopeo+umoci): %.2f   (pull/copy %.2f, run/unpack %.2f)\n", k / r, kp / s, kr / u }'
