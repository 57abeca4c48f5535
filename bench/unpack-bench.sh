#!/usr/bin/env bash
# bench/unpack-bench.sh [N] -- unpacking an image: Kurma's snapshot unpacker vs `umoci raw unpack`.
#
# Builds an OCI image layout with umoci (Debian package umoci) from a few host directory
# trees, one gzip layer each made by GNU tar (LAYERS, default: Perl and Python library trees that Debian
# has, some tens of MB), then N times (default 5), interleaved:
#   umoci:  `umoci raw unpack` of the image into a fresh directory (layers applied in order)
#   kurma:  kurma.image.snapshot.UnpackBench into a fresh state directory: every layer
#           unpacked into its snapshot (digest and diff_id verified) and the overlay rootfs
#           mounted and unmounted (UNPACK_MODE=copy: the copy fallback instead)
# each timed as a whole command with bash's $EPOCHREALTIME, JVM start-up included. Prints the
# medians in ms and the ratio kurma/umoci. Needs root and a build (./build.sh).
set -euo pipefail
export LC_ALL=C

N=${1:-5}
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 1 )); then
    echo "usage: $0 [N]   (N runs each, default 5)" >&2
    exit 2
fi
if (( EUID != 0 )); then
    echo "unpack-bench.sh: must run as root (owners, devices, overlay mounts)" >&2
    exit 1
fi
command -v umoci >/dev/null || { echo "unpack-bench.sh: umoci not found (apt-get install -y umoci)" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
java=${KURMA_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
jars=()
for m in kurma-image kurma-sys kurma-spec; do
    j=$(ls "$repo/$m/target/$m"-*.jar 2>/dev/null | grep -v -e sources -e tests | head -1 || true)
    [[ -n $j ]] || { echo "unpack-bench.sh: $m is not built; run ./build.sh" >&2; exit 1; }
    jars+=("$j")
done

work=$(mktemp -d /var/tmp/kurma-unpack-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Third-party jars from kurma-image's dependency list, resolved in the reactor (Kurma's own
# jars come from target/ above; the last module built, kurma-image, writes the file last).
if [[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
fi
if ! mvn -B -q -ntp -f "$repo/pom.xml" -pl kurma-image -am compile dependency:build-classpath -DincludeScope=runtime \
        -DexcludeGroupIds=kurma -Dmdep.outputFile="$work/cp" >"$work/mvn.log" 2>&1; then
    cat "$work/mvn.log" >&2
    exit 1
fi
cp=$(IFS=:; echo "${jars[*]}"):$(cat "$work/cp")

if [[ -z ${LAYERS:-} ]]; then
    LAYERS=""
    for d in /usr/share/perl /usr/lib/x86_64-linux-gnu/perl /usr/lib/python3 /usr/share/perl5; do
        [[ -d $d ]] && LAYERS+=" $d"
    done
fi
umoci init --layout "$work/oci"
umoci new --image "$work/oci:bench"
# GNU tar makes each layer (`umoci insert` of umoci 0.4.7 writes tars without their end
# blocks, which GNU tar, Go's archive/tar and Kurma all refuse); umoci gzips and adds it.
for d in $LAYERS; do
    tar --xattrs -C / -cf "$work/layer.tar" "${d#/}"
    umoci raw add-layer --image "$work/oci:bench" "$work/layer.tar" >/dev/null
done
rm -f "$work/layer.tar"
layers=$(jq '.layers | length' "$work/oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/oci/index.json" | cut -d: -f2)")
size=$(du -sm "$work/oci/blobs" | cut -f1)
echo "image: $layers gzip layers, ${size} MB compressed, from:$LAYERS"

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: >"$work/umoci.ms"
: >"$work/kurma.ms"
for ((i = 1; i <= N; i++)); do
    t0=$(now_us)
    umoci --log error raw unpack --image "$work/oci:bench" "$work/u" >/dev/null
    t1=$(now_us)
    echo $(( (t1 - t0) / 1000 )) >>"$work/umoci.ms"
    rm -rf "$work/u"

    t0=$(now_us)
    # A one-shot command on a small machine: C2 compiler and G1 threads only compete with it
    # for the CPU (measured here: user time 2.7 s -> 1.5 s, wall time -30%).
    out=$("$java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
        --sun-misc-unsafe-memory-access=allow -cp "$cp" \
        kurma.image.snapshot.UnpackBench "$work/oci" bench "$work/k" "${UNPACK_MODE:-overlay}")
    t1=$(now_us)
    echo $(( (t1 - t0) / 1000 )) >>"$work/kurma.ms"
    rm -rf "$work/k"
    echo "run $i: umoci $(tail -1 "$work/umoci.ms") ms, kurma $(tail -1 "$work/kurma.ms") ms ($out)"
done

u=$(median <"$work/umoci.ms")
k=$(median <"$work/kurma.ms")
echo "median of $N: umoci raw unpack $u ms, kurma unpack+mount $k ms, kurma/umoci = $(awk -v k="$k" -v u="$u" 'BEGIN {printf "%.2f", k / u}')"
