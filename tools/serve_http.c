/*
 * serve_http.c — the HTTP side of `heed serve` (see serve.h): libmicrohttpd
 * with a thread per connection, so a streamed reply may generate tokens
 * inside the callback that MHD pulls it through; bodies gathered up to
 * max_body; the API key checked in constant time; one log line per request.
 */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli_error.h"
#include "clock.h"
#include "serve.h"

void serve_error(serve_reply *out, int status, const char *type, const char *code,
                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNullToObject(e, "param");
    if (code)
        cJSON_AddStringToObject(e, "code", code);
    else
        cJSON_AddNullToObject(e, "code");
    *out = (serve_reply){.status = status, .body = cJSON_PrintUnformatted(root),
                         .content_type = "application/json"};
    cJSON_Delete(root);
}

/* Compares in time that depends on the lengths only. */
static bool same_secret(const char *a, const char *b)
{
    const size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    const size_t n = serve_stream_read(cls, buf, max);
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls) { serve_stream_free(cls); }

static enum MHD_Result send_reply(struct MHD_Connection *c, serve_request *r, serve_reply *rep)
{
    struct MHD_Response *resp;
    if (rep->stream)
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader,
                                                 rep->stream, stream_free);
    else
        resp = MHD_create_response_from_buffer(rep->body ? strlen(rep->body) : 0, rep->body,
                                               MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", rep->content_type ? rep->content_type
                                                                    : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (rep->stream) {
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    }
    if (rep->retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%d", rep->retry_after);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    r->status = rep->status;
    const enum MHD_Result ok = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    serve_request *r = *con_cls;
    if (!r) { /* the headers: set up, then MHD sends the body in pieces */
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->srv = s;
        r->t0 = cli_seconds();
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_big && r->len + *upload_size <= s->max_body) {
            char *b = realloc(r->body, r->len + *upload_size + 1);
            if (b) {
                memcpy(b + r->len, upload, *upload_size);
                r->body = b;
                r->len += *upload_size;
                b[r->len] = 0;
            } else
                r->too_big = true;
        } else
            r->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    serve_reply rep = {0};
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    /* the pages and /health need no key; the page sends one given as #key=KEY */
    const bool open = !strcmp(url, "/health") || !strcmp(url, "/") || !strcmp(url, "/attend.html");
    if (s->api_key && !open &&
        !(auth && !strncmp(auth, "Bearer ", 7) && same_secret(auth + 7, s->api_key)))
        serve_error(&rep, 401, "invalid_request_error", "invalid_api_key",
                    "Incorrect or missing API key: send 'Authorization: Bearer KEY'");
    else if (r->too_big)
        serve_error(&rep, 413, "invalid_request_error", "request_too_large",
                    "The request body is larger than the server's limit of %zu bytes",
                    s->max_body);
    else
        serve_route(r, &rep);
    return send_reply(c, r, &rep);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    serve_request *r = *con_cls;
    if (!r)
        return;
    const double seconds = cli_seconds() - r->t0;
    serve_metrics_count(r->srv, r, seconds);
    fprintf(stderr, "%s %s %d prompt %d gen %d %.3f s%s\n", r->method, r->path, r->status,
            r->n_prompt, r->n_gen, seconds,
            why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (client gone)");
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* The address --host names: IPv4 ("127.0.0.1", "0.0.0.0") or IPv6 ("::1",
 * "[::1]"; "::" listens on IPv6 and IPv4 both). */
typedef struct listen_addr {
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } sa;
    unsigned flags; /* MHD_USE_IPv6, MHD_USE_DUAL_STACK */
    char url_host[INET6_ADDRSTRLEN + 3];
} listen_addr;

static bool parse_host(const char *host, int port, listen_addr *a)
{
    memset(a, 0, sizeof *a);
    char bare[INET6_ADDRSTRLEN + 1];
    const size_t len = strlen(host);
    const bool bracketed = len > 2 && host[0] == '[' && host[len - 1] == ']';
    snprintf(bare, sizeof bare, "%.*s", (int)(bracketed ? len - 2 : len), host + bracketed);
    if (!bracketed && inet_pton(AF_INET, bare, &a->sa.v4.sin_addr) == 1) {
        a->sa.v4.sin_family = AF_INET;
        a->sa.v4.sin_port = htons((uint16_t)port);
        snprintf(a->url_host, sizeof a->url_host, "%s", bare);
        return true;
    }
    if (inet_pton(AF_INET6, bare, &a->sa.v6.sin6_addr) != 1)
        return false;
    a->sa.v6.sin6_family = AF_INET6;
    a->sa.v6.sin6_port = htons((uint16_t)port);
    a->flags = IN6_IS_ADDR_UNSPECIFIED(&a->sa.v6.sin6_addr) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    snprintf(a->url_host, sizeof a->url_host, "[%s]", bare);
    return true;
}

heed_status serve_run(server *s, const char *host, int port, const volatile int *stop)
{
    listen_addr addr;
    if (!parse_host(host, port, &addr))
        return cli_set_error(HEED_ERR_ARG, "--host '%s' is not an IPv4 or IPv6 address", host);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
            addr.flags,
        (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr.sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(s->timeout_s > 0 ? s->timeout_s : 600), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(s->n_slots + s->max_queue + 16), MHD_OPTION_END);
    if (!d)
        return cli_set_error(HEED_ERR_IO, "cannot listen on %s:%d (in use, or not allowed)",
                             addr.url_host, port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "heed serve: listening on http://%s:%u\n", addr.url_host,
            info ? info->port : (unsigned)port);
    while (!*stop)
        usleep(100 * 1000);
    MHD_stop_daemon(d);
    return HEED_OK;
}
