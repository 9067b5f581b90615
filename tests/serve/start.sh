# start.sh — sourced by the scripts that need a running `heed serve`:
#   serve_start LOG HEED MODEL [OPTIONS...]
# starts it on a free port (of loopback, unless OPTIONS has --host), its
# stderr in LOG, and sets serve_pid and serve_port (fails after 10 s,
# printing LOG).
serve_start() {
    _log=$1
    shift
    : > "$_log" # there before the server opens it, for the sed below
    "$@" --port 0 2> "$_log" &
    serve_pid=$!
    serve_port=""
    for _ in $(seq 1 100); do
        serve_port=$(sed -n 's/.*listening on http:\/\/.*:\([0-9]*\)$/\1/p' "$_log")
        [ -n "$serve_port" ] && return 0
        kill -0 $serve_pid 2>/dev/null || break
        sleep 0.1
    done
    cat "$_log" >&2
    echo "heed serve did not start" >&2
    return 1
}
