#!/usr/bin/env bash
# bench/bench.sh [N] -- container start-up latency of kurma-runtime vs runc vs crun.
#
# In one run, interleaved (A, B, C, A, B, C, ...), N iterations per runtime (default 40,
# at least 30) of
#   (a) run:    `RUNTIME run` of /bin/true in a busybox bundle
#   (b) cycle:  `create` + `start` + wait until the process is gone + `delete`
# each timed with bash's $EPOCHREALTIME, a fresh container id per iteration and one --root
# per runtime under a temp dir. Prints the median in ms per runtime and its ratio to runc and
# to crun.
#
# Runtimes: KURMA (default <repo>/bin/kurma-runtime; skipped with a note when missing),
# RUNC (default runc on PATH, else /usr/sbin/runc), CRUN (default crun on PATH). A runtime
# whose warm-up run fails is skipped with its error.
#
# crun 1.8 refuses hybrid cgroup hosts where a controller is still available in cgroup v2
# ("cgroups in hybrid mode not supported"). If crun fails and hugetlb is the controller left
# in v2, this script binds hugetlb to v1 (mount -t cgroup -o hugetlb on /sys/fs/cgroup/hugetlb)
# and undoes that at exit. Needs root.
set -euo pipefail
export LC_ALL=C   # $EPOCHREALTIME with a '.' decimal point

N=${1:-40}
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 30 )); then
    echo "usage: $0 [N]   (N iterations per runtime, at least 30; default 40)" >&2
    exit 2
fi
if (( EUID != 0 )); then
    echo "bench.sh: must run as root (containers, cgroups)" >&2
    exit 1
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KURMA=${KURMA:-$repo/bin/kurma-runtime}
RUNC=${RUNC:-$(command -v runc || echo /usr/sbin/runc)}
CRUN=${CRUN:-$(command -v crun || echo /usr/bin/crun)}

work=$(mktemp -d /tmp/kurma-bench.XXXXXX)
prefix="kb$$"
hugetlb_dir=/sys/fs/cgroup/hugetlb
hugetlb_mounted=0
hugetlb_mkdir=0

declare -A BIN=()      # runtime name -> binary
declare -A IDS=()      # runtime name -> space-separated ids created
names=()               # runtimes being benchmarked, in interleaving order
notes=()

log() { printf '%s\n' "$*" >&2; }

# "hierarchy num_cgroups" of the hugetlb controller, from /proc/cgroups
hugetlb_hierarchy() { awk '$1 == "hugetlb" { print $2, $3 }' /proc/cgroups; }

# Undo the hugetlb v1 mount. The kernel only dissolves an unmounted v1 hierarchy (giving
# the controller back to cgroup v2) if it has no child cgroups at umount time, and a cgroup
# a runtime just removed may still be dying then. So: remove the empty cgroups the runtimes
# left in it (every child was made during this run, since the hierarchy is new; a runtime
# may keep a parent such as /kurma; rmdir refuses any cgroup that still has processes),
# wait until only the root cgroup is left, unmount, and if the hierarchy lingers, mount it
# again and retry.
restore_hugetlb() {
    local try h n
    if mountpoint -q "$hugetlb_dir"; then
        find "$hugetlb_dir" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
    fi
    for ((try = 0; try < 100; try++)); do
        read -r h n <<< "$(hugetlb_hierarchy)"
        if ! mountpoint -q "$hugetlb_dir"; then
            if [ "${h:-0}" = 0 ]; then
                (( hugetlb_mkdir )) && rmdir "$hugetlb_dir"
                log "bench.sh: unmounted the hugetlb cgroup v1 hierarchy at $hugetlb_dir (hugetlb is back in cgroup v2)"
                hugetlb_mounted=0
                return 0
            fi
            mount -t cgroup -o hugetlb cgroup "$hugetlb_dir" || break   # re-attach the lingering hierarchy
        fi
        if [ "${n:-0}" -le 1 ]; then
            umount "$hugetlb_dir" || break
        fi
        sleep 0.1
    done
    log "bench.sh: WARNING: could not undo the hugetlb cgroup v1 mount at $hugetlb_dir ($(hugetlb_hierarchy)); undo it with: umount $hugetlb_dir"
}

cleanup() {
    local rc=$? name id
    set +e
    for name in "${!IDS[@]}"; do
        for id in ${IDS[$name]}; do
            # only ids whose state is still around: a cheap check instead of a runtime call each
            if [ -e "$work/root-$name/$id" ]; then
                "${BIN[$name]}" --root "$work/root-$name" delete --force "$id" >/dev/null 2>&1
            fi
        done
    done
    if (( hugetlb_mounted )); then
        restore_hugetlb
    fi
    if grep -q " $work[/ ]" /proc/self/mountinfo; then
        log "bench.sh: WARNING: mounts left under $work, not removing it:"
        grep " $work[/ ]" /proc/self/mountinfo | cut -d' ' -f5 >&2
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- bundle: busybox rootfs + a config.json running /bin/true, shared by all runtimes ----
bundle=$work/bundle
mkdir -p "$bundle"
"$repo/scripts/make-rootfs.sh" "$bundle/rootfs"
if [ ! -x "$RUNC" ]; then
    log "bench.sh: runc ($RUNC) is needed, as the baseline and to write the bundle's config.json"
    exit 1
fi
"$RUNC" spec --bundle "$bundle"
sed -i -e 's/"terminal": true/"terminal": false/' \
       -e '/"args": \[/,/\]/ s#^\([[:space:]]*\)"sh"$#\1"/bin/true"#' "$bundle/config.json"
if ! grep -q '"terminal": false' "$bundle/config.json" || ! grep -q '"/bin/true"' "$bundle/config.json"; then
    log "bench.sh: could not edit $bundle/config.json (unexpected 'runc spec' output)"
    exit 1
fi

# ---- timing helpers ----
seq_no=0
new_id() { seq_no=$((seq_no + 1)); REPLY="$prefix-$1-$seq_no"; IDS[$1]+=" $REPLY"; }

# microseconds from two $EPOCHREALTIME values
elapsed_us() { local a=${1/./} b=${2/./}; echo $(( 10#$b - 10#$a )); }

# process gone or a zombie (an orphan's exit is reaped by pid 1, possibly late)
proc_gone() {
    local stat
    [ -r "/proc/$1/stat" ] || return 0
    read -r stat < "/proc/$1/stat" 2>/dev/null || return 0
    stat=${stat##*) }
    [[ ${stat:0:1} == [ZXx] ]]
}

ERR=""
# Errors go to a file, never through $(...): a created container inherits the runtime's
# stdio, and a pipe it holds open would block the command substitution until it exits.
errf=$work/err
# (a) run /bin/true; sets T_US, returns non-zero on failure (ERR has the output)
bench_run() {
    local name=$1 bin=${BIN[$1]} root=$work/root-$1 t0 t1 id
    new_id "$name"; id=$REPLY
    t0=$EPOCHREALTIME
    if ! "$bin" --root "$root" run -b "$bundle" "$id" </dev/null >/dev/null 2>"$errf"; then
        ERR=$(<"$errf")
        "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
        return 1
    fi
    t1=$EPOCHREALTIME
    T_US=$(elapsed_us "$t0" "$t1")
    if [ -e "$root/$id" ]; then   # run should have deleted it; do not count the clean-up
        "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    fi
}

# (b) create + start + wait for exit + delete; sets T_US
FORCED=0
bench_cycle() {
    local name=$1 bin=${BIN[$1]} root=$work/root-$1 t0 t1 id pid pidfile
    new_id "$name"; id=$REPLY
    pidfile=$work/$id.pid
    t0=$EPOCHREALTIME
    if ! "$bin" --root "$root" create --bundle "$bundle" --pid-file "$pidfile" "$id" </dev/null >/dev/null 2>"$errf"; then
        ERR=$(<"$errf")
        "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
        return 1
    fi
    if ! "$bin" --root "$root" start "$id" </dev/null >/dev/null 2>"$errf"; then
        ERR=$(<"$errf")
        "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
        return 1
    fi
    pid=""
    read -r pid < "$pidfile" || true   # the pid file may lack a trailing newline
    local limit=$(( ${EPOCHREALTIME/./} + 10000000 ))
    while [ -n "$pid" ] && ! proc_gone "$pid"; do
        if (( ${EPOCHREALTIME/./} > limit )); then log "cycle $name: container $id still running after 10 s"; break; fi
    done
    if ! "$bin" --root "$root" delete "$id" </dev/null >/dev/null 2>&1; then
        FORCED=$((FORCED + 1))
        if ! "$bin" --root "$root" delete --force "$id" </dev/null >/dev/null 2>"$errf"; then
            ERR=$(<"$errf")
            return 1
        fi
    fi
    t1=$EPOCHREALTIME
    rm -f "$pidfile"
    T_US=$(elapsed_us "$t0" "$t1")
}

# ---- which runtimes, warm-up / probe ----
add_runtime() {   # name binary
    local name=$1 bin=$2
    if [ ! -x "$bin" ]; then
        notes+=("$name skipped: $bin not found")
        return
    fi
    BIN[$name]=$bin
    mkdir -p "$work/root-$name"
    if bench_run "$name" && bench_cycle "$name"; then
        names+=("$name")
        return
    fi
    if [ "$name" = crun ] && [[ $ERR == *hybrid* ]] && ! mountpoint -q "$hugetlb_dir" \
       && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
        log "bench.sh: crun refuses this hybrid cgroup host ($ERR);"
        log "bench.sh: binding the hugetlb controller to cgroup v1 at $hugetlb_dir for the run"
        [ -d "$hugetlb_dir" ] || { mkdir -p "$hugetlb_dir"; hugetlb_mkdir=1; }
        mount -t cgroup -o hugetlb cgroup "$hugetlb_dir"
        hugetlb_mounted=1
        if bench_run "$name" && bench_cycle "$name"; then
            names+=("$name")
            return
        fi
    fi
    notes+=("$name skipped: warm-up failed: ${ERR//$'\n'/ }")
}

add_runtime kurma "$KURMA"
add_runtime runc "$RUNC"
add_runtime crun "$CRUN"
if [ ${#names[@]} -eq 0 ]; then
    printf '%s\n' "${notes[@]}" >&2
    log "bench.sh: no runtime works"
    exit 1
fi
for n in "${notes[@]}"; do log "bench.sh: $n"; done

# ---- the measurements, interleaved ----
declare -A SAMPLES=()   # "bench:name" -> space-separated microseconds
declare -A FAILS=()
log "bench.sh: $N iterations of (a) run and (b) create+start+delete for: ${names[*]}"
for ((i = 1; i <= N; i++)); do
    for name in "${names[@]}"; do
        if bench_run "$name"; then SAMPLES[run:$name]+=" $T_US"; else FAILS[run:$name]=$(( ${FAILS[run:$name]:-0} + 1 )); log "run $name: $ERR"; fi
    done
    for name in "${names[@]}"; do
        if bench_cycle "$name"; then SAMPLES[cycle:$name]+=" $T_US"; else FAILS[cycle:$name]=$(( ${FAILS[cycle:$name]:-0} + 1 )); log "cycle $name: $ERR"; fi
    done
    if (( i % 10 == 0 )); then log "bench.sh: $i/$N"; fi
done

# ---- report ----
median_us() {   # space-separated numbers -> median
    printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "Container start-up latency, median of $N interleaved iterations (busybox rootfs, /bin/true)"
echo "host: $(uname -r), $(nproc) cpus; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for name in "${names[@]}"; do
    printf '  %-6s %s\n' "$name" "$("${BIN[$name]}" --version 2>/dev/null | head -n 1 || echo "${BIN[$name]}")"
done
echo
printf '%-26s %-7s %10s %10s %10s %8s %6s\n' benchmark runtime median_ms min_ms vs_runc vs_crun fails
for bench in run cycle; do
    case $bench in
        run) label="(a) run /bin/true" ;;
        cycle) label="(b) create+start+delete" ;;
    esac
    declare -A MED=()
    for name in "${names[@]}"; do MED[$name]=$(median_us "${SAMPLES[$bench:$name]:-}"); done
    for name in "${names[@]}"; do
        med=${MED[$name]}
        min=$(printf '%s\n' ${SAMPLES[$bench:$name]:-} | sort -n | head -n 1)
        awk -v label="$label" -v name="$name" -v med="$med" -v min="$min" \
            -v runc="${MED[runc]:-}" -v crun="${MED[crun]:-}" -v fails="${FAILS[$bench:$name]:-0}" 'BEGIN {
            m  = (med == "") ? "-" : sprintf("%.2f", med / 1000)
            mn = (min == "") ? "-" : sprintf("%.2f", min / 1000)
            r  = (med == "" || runc == "" || runc == 0) ? "-" : sprintf("%.2fx", med / runc)
            c  = (med == "" || crun == "" || crun == 0) ? "-" : sprintf("%.2fx", med / crun)
            printf "%-26s %-7s %10s %10s %10s %8s %6d\n", label, name, m, mn, r, c, fails
        }'
    done
    unset MED
done
echo
echo "vs_runc / vs_crun: the runtime's median divided by runc's / crun's (lower is faster)."
if (( FORCED > 0 )); then
    echo "note: plain delete failed $FORCED time(s) after the process had exited; delete --force was used (included in the time)."
fi
for n in "${notes[@]}"; do echo "note: $n"; done
exit 0
