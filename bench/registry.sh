# bench/registry.sh -- sourced by the image benchmarks: Debian's docker-registry on a free
# loopback port, with its own config and storage under a work directory, stopped by its pid.
#
#   start_registry DIR   starts it (storage DIR/registry, log DIR/registry.log); sets
#                        REG_PID and REG_PORT, and waits until /v2/ answers
#   stop_registry        stops it (call it from the caller's EXIT trap)

REG_PID=
REG_PORT=

start_registry() {
    local dir=$1
    # a free loopback port: one nothing answers on
    while :; do
        REG_PORT=$(( 20000 + RANDOM % 40000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$REG_PORT") 2>/dev/null || break
    done
    mkdir -p "$dir/registry"
    cat > "$dir/registry.yml" <<YML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/registry
http:
  addr: 127.0.0.1:$REG_PORT
YML
    docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
    REG_PID=$!
    local _
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "docker-registry did not start; its log:" >&2
    cat "$dir/registry.log" >&2
    return 1
}

stop_registry() {
    if [ -n "$REG_PID" ]; then
        kill "$REG_PID" 2>/dev/null || true
        wait "$REG_PID" 2>/dev/null || true
        REG_PID=
    fi
}
