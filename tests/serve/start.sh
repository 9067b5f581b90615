# start.sh — sourced by the scripts that need a running `heed serve`:
#   serve_start LOG HEED MODEL [OPTIONS...]
# starts it on a free port (of loopback, unless OPTIONS has --host), its
# stderr in LOG, and sets serve_pid and serve_port (fails after 10 s,
# printing LOG).
#   wait_ready PID TEST...
# runs TEST every 0.1 s until it succeeds; fails once PID has exited, or
# after 10 s.
serve_start() {
    _log=$1
    shift
    : > "$_log" # there before the server opens it, for the sed below
    "$@" --port 0 2> "$_log" &
    serve_pid=$!
    wait_ready $serve_pid _serve_listening && return 0
    cat "$_log" >&2
    echo "heed serve did not start" >&2
    return 1
}

# (the server's shell creates LOG: it may not be there yet)
_serve_listening() {
    serve_port=$(sed -n 's/.*listening on http:\/\/.*:\([0-9]*\)$/\1/p' "$_log" 2>/dev/null)
    [ -n "$serve_port" ]
}

wait_ready() {
    _pid=$1
    shift
    for _ in $(seq 1 100); do
        "$@" && return 0
        kill -0 $_pid 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
