# nginx.sh — sourced by the scripts that put nginx in front of `heed serve`
# replicas, after tests/serve/start.sh:
#   free_port                  prints a free loopback port
#   nginx_start CONF DIR PORT ADDR...
# runs Debian's nginx from DIR (needing no root, touching no system path)
# on 127.0.0.1:PORT with CONF (deploy/nginx/heed.conf) as shipped but for
# its listen port and upstream servers: ADDR... (host:port), each with the
# shipped server line's options. An X-Upstream header names the replica
# that answered; each request is logged to DIR/access.log as: X-Test-Id,
# status, then the replicas tried and the bytes sent to each. Sets
# nginx_pid (the master: `kill -QUIT` stops it); fails after 10 s,
# printing nginx's error log.
free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

nginx_start() {
    _conf=$1
    _dir=$2
    _port=$3
    shift 3
    command -v nginx > /dev/null || PATH=$PATH:/usr/sbin
    command -v nginx > /dev/null || { echo "nginx is needed (make deps installs it)" >&2; return 1; }
    [ "$(grep -c '^ *server 127\.0\.0\.1:808[12] \|listen 127\.0\.0\.1:8080;' "$_conf")" = 3 ] ||
        { echo "$_conf: no longer the two server lines and the listen line replaced here" >&2; return 1; }
    # nginx started by root runs its workers as nobody: they must reach DIR
    chmod 755 "$_dir"
    # the shipped first server line, once per ADDR; the second dropped
    awk -v addrs="$*" -v port="$_port" '
        /^ *server 127\.0\.0\.1:8081 / {
            n = split(addrs, a, " ")
            for (i = 1; i <= n; i++) { line = $0; sub(/127\.0\.0\.1:8081/, a[i], line); print line }
            next
        }
        /^ *server 127\.0\.0\.1:8082 / { next }
        { sub(/listen 127\.0\.0\.1:8080;/, "listen 127.0.0.1:" port ";"); print }' "$_conf" > "$_dir/heed.conf"
    cat > "$_dir/nginx.conf" <<EOF
worker_processes auto;
events { worker_connections 512; }
http {
    log_format scale '\$http_x_test_id \$status "\$upstream_addr" "\$upstream_bytes_sent"';
    access_log $_dir/access.log scale;
    # inherited by CONF's location, which adds no header of its own
    add_header X-Upstream \$upstream_addr always;
    client_body_temp_path $_dir/body;
    proxy_temp_path $_dir/proxy;
    fastcgi_temp_path $_dir/fastcgi;
    uwsgi_temp_path $_dir/uwsgi;
    scgi_temp_path $_dir/scgi;
    include $_dir/heed.conf;
}
EOF
    nginx -p "$_dir" -c "$_dir/nginx.conf" \
        -g "daemon off; pid $_dir/nginx.pid; error_log $_dir/error.log;" 2>> "$_dir/error.log" &
    nginx_pid=$!
    # the pid file is written once the port is bound
    wait_ready $nginx_pid test -s "$_dir/nginx.pid" && return 0
    cat "$_dir/error.log" >&2
    echo "nginx did not start" >&2
    return 1
}
