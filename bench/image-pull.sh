#!/usr/bin/env bash
# bench/image-pull.sh [N] -- pulling a multi-layer image from a loopback registry:
# kurma-image's pull against `skopeo copy` of the same image, in the same run.
#
# Starts Debian's docker-registry on a free loopback port (temp config and storage, stopped by
# pid at exit), pushes an image of LAYERS (default 6) gzip layers of about MIB (default 8) MiB
# each, half random, half text (tens of MB), then N times (default 5), interleaved:
#   kurma:  a fresh JVM pulls it into an empty store (bench/ImagePullBench.java `pull`),
#           timed as a whole command and, separately, inside the JVM
#   skopeo: `skopeo copy docker://... oci:DIR:tag` into an empty OCI layout
# then N pulls in one warm JVM (what a daemon does), and prints the medians and the ratios
# kurma/skopeo. A cold JVM spends about a second loading and warming up java.net.http and the
# TLS classes before the first byte; the warm number is the transfer path itself.
# `umoci unpack` of skopeo's copy is timed too, as the reference for the unpack half;
# bench/image-bench.sh times both halves as bin/kurma commands.
# Needs: docker-registry, skopeo, umoci (apt-get install -y docker-registry skopeo umoci).
set -euo pipefail
export LC_ALL=C

N=${1:-5}
LAYERS=${LAYERS:-6}
MIB=${MIB:-8}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for t in docker-registry skopeo umoci; do
    command -v "$t" >/dev/null || { echo "image-pull.sh: $t is missing (apt-get install -y $t)" >&2; exit 1; }
done
if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JAVAC=${JAVA_HOME:+$JAVA_HOME/bin/}javac

. "$repo/bench/registry.sh"
work=$(mktemp -d /tmp/kurma-image-bench.XXXXXX)
cleanup() {
    stop_registry
    rm -rf "$work"
}
trap cleanup EXIT

cd "$repo"
./build.sh
# In the reactor (-am), so that kurma-spec and kurma-sys resolve to their target/classes
# without being installed; kurma-image, built last, writes the file last.
if ! MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow" mvn -q -B -ntp -pl kurma-image -am compile dependency:build-classpath \
        -Dmdep.outputFile="$work/cp.txt" >"$work/mvn.log" 2>&1; then
    cat "$work/mvn.log" >&2
    exit 1
fi
cp="$repo/kurma-image/target/classes:$(cat "$work/cp.txt")"
mkdir -p "$work/classes"
"$JAVAC" -d "$work/classes" -cp "$cp" bench/ImagePullBench.java
cp="$work/classes:$cp"

start_registry "$work"
ref="127.0.0.1:$REG_PORT/bench/layers:v1"
"$JAVA" -cp "$cp" ImagePullBench push "$ref" "$LAYERS" "$MIB"
size=$(du -sm "$work/registry" | cut -f1)
echo "image: $LAYERS gzip layers of ~$MIB MiB each, $size MiB in the registry" >&2

ms() { echo $(( ${1/./} / 1000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
kurma=() inner=() skopeo=() umoci=()
for i in $(seq "$N"); do
    rm -rf "$work/store" "$work/oci" "$work/bundle"
    t0=$EPOCHREALTIME
    in_jvm=$("$JAVA" -cp "$cp" ImagePullBench pull "$ref" "$work/store")
    t1=$EPOCHREALTIME
    kurma+=($(( $(ms "$t1") - $(ms "$t0") )))
    inner+=("$in_jvm")
    t0=$EPOCHREALTIME
    skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:v1" >/dev/null
    t1=$EPOCHREALTIME
    skopeo+=($(( $(ms "$t1") - $(ms "$t0") )))
    t0=$EPOCHREALTIME
    umoci unpack --image "$work/oci:v1" "$work/bundle" >/dev/null 2>&1
    t1=$EPOCHREALTIME
    umoci+=($(( $(ms "$t1") - $(ms "$t0") )))
done
rm -rf "$work/warm"
read -r -a warm <<< "$("$JAVA" -cp "$cp" ImagePullBench warm "$ref" "$work/warm" "$N")"
rm -rf "$work/warm"
mw=$(median "${warm[@]}")
mk=$(median "${kurma[@]}"); mi=$(median "${inner[@]}"); ms_=$(median "${skopeo[@]}"); mu=$(median "${umoci[@]}")
echo "runs: $N (interleaved)"
echo "kurma pull (whole command, JVM start included): median ${mk} ms   [${kurma[*]}]"
echo "kurma pull (inside the JVM):                    median ${mi} ms   [${inner[*]}]"
echo "kurma pull (warm JVM, as in a daemon):          median ${mw} ms   [${warm[*]}]"
echo "skopeo copy docker:// -> oci:                   median ${ms_} ms   [${skopeo[*]}]"
echo "umoci unpack (reference for the unpack half):   median ${mu} ms   [${umoci[*]}]"
awk -v a="$mk" -v w="$mw" -v b="$ms_" 'BEGIN { printf "ratio kurma/skopeo: %.2f as a command (cold JVM), %.2f warm\n", a / b, w / b }'
