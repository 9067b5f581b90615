/*
 * serve_http.c — the HTTP side of `heed serve` (see serve.h): libmicrohttpd
 * on one epoll thread that never waits. An open connection costs a socket
 * and a little memory, no thread: one silent for --read-timeout seconds
 * while the server waits on it is closed, and one client address may hold
 * --max-connections-per-ip of them. GETs (health, metrics, slots, pages)
 * are answered on that thread. A POST's work grows with its body, and may
 * wait for a slot and generate, so each runs on a thread of its own while
 * its connection is suspended, and hands back its reply — whole, or a
 * stream's bytes as each token comes. Bodies are gathered up to max_body;
 * the API key is checked in constant time; one log line per request.
 */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* Each connection's memory (headers, buffers): over 32 KiB, MHD maps it
 * rather than taking it from malloc, so it goes back to the system when
 * the connection closes. */
#define CONN_MEMORY ((size_t)64 << 10)

/* The event loop's state, shared with the request threads. */
typedef struct http {
    server *srv;
    pthread_mutex_t mu;     /* guards jobs, stopping, and every request's hand-over */
    pthread_cond_t idle;    /* signalled as the last request thread ends */
    pthread_attr_t detached;
    int jobs, max_jobs;     /* request threads running, and their bound */
    bool stopping;
} http;

/* One request, from its first byte to its log line. */
typedef struct http_req {
    serve_request r;        /* what serve_api.c sees */
    http *h;
    struct MHD_Connection *c;
    int refs;               /* held by the connection, the request's thread, a stream */
    enum { REQ_READING, REQ_WORKING, REQ_REPLY, REQ_STREAM } state;
    serve_reply rep;        /* the reply (REQ_REPLY), or a stream's status and headers */
    char *out;              /* a stream's bytes the connection has not taken yet */
    size_t len, off;
    bool ended, broken;     /* the stream's last byte is in; bytes were lost (memory) */
    bool parked;            /* the connection is suspended until the thread has more */
    bool done;              /* the connection has finished with the request */
    enum MHD_RequestTerminationCode why;
} http_req;

/* Lets go of q; the last holder logs and counts it. */
static void drop(http_req *q)
{
    pthread_mutex_lock(&q->h->mu);
    const bool last = --q->refs == 0;
    pthread_mutex_unlock(&q->h->mu);
    if (!last)
        return;
    const serve_request *r = &q->r;
    const double seconds = cli_seconds() - r->t0;
    serve_metrics_count(r->srv, r, seconds);
    fprintf(stderr, "%s %s %d prompt %d gen %d %.3f s%s\n", r->method, r->path, r->status,
            r->n_prompt, r->n_gen, seconds,
            q->why == MHD_REQUEST_TERMINATED_COMPLETED_OK        ? ""
            : q->why == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)"
                                                                : " (client gone)");
    free(r->body);
    free(q->rep.body);
    free(q->out);
    free(q);
}

/* With h->mu held: the connection, suspended waiting for q's thread, goes on. */
static void wake(http_req *q)
{
    if (q->parked) {
        q->parked = false;
        MHD_resume_connection(q->c);
    }
}

/* MHD pulls a stream: the bytes its thread has handed over, or, while
 * there are none, the connection is suspended (returning 0 without it
 * would spin the event loop) until the thread wakes it. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_req *q = cls;
    pthread_mutex_lock(&q->h->mu);
    ssize_t n = (ssize_t)(q->len - q->off < max ? q->len - q->off : max);
    if (n)
        memcpy(buf, q->out + q->off, (size_t)n);
    q->off += (size_t)n;
    if (q->off == q->len)
        q->off = q->len = 0;
    if (!n && q->ended)
        n = q->broken ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    else if (!n) {
        q->parked = true;
        MHD_suspend_connection(q->c);
    }
    pthread_mutex_unlock(&q->h->mu);
    return n;
}

static void stream_done(void *cls) { drop(cls); }

/* Hands the connection n more bytes of q's stream (n 0: the end), from the
 * thread that makes them; false once the stream has ended or the client
 * has gone. */
static bool hand_back(http_req *q, const char *bytes, size_t n)
{
    pthread_mutex_lock(&q->h->mu);
    if (n && !q->done) {
        char *grown = realloc(q->out, q->len + n);
        if (grown) {
            memcpy(grown + q->len, bytes, n);
            q->out = grown;
            q->len += n;
        }
        q->broken = !grown;
    }
    q->ended = !n || q->broken;
    const bool more = !q->ended && !q->done;
    wake(q);
    pthread_mutex_unlock(&q->h->mu);
    return more;
}

/* A POST's thread: the endpoint's work, then a stream's bytes as each
 * token comes. */
static void *work(void *arg)
{
    http_req *q = arg;
    http *h = q->h;
    serve_reply rep = {0};
    serve_route(&q->r, &rep);
    serve_stream *st = rep.stream;
    rep.stream = NULL; /* this thread's alone */
    pthread_mutex_lock(&h->mu);
    q->rep = rep;
    q->state = st ? REQ_STREAM : REQ_REPLY;
    wake(q);
    pthread_mutex_unlock(&h->mu);
    for (bool more = st != NULL; more;) {
        char buf[4096];
        const size_t n = serve_stream_read(st, buf, sizeof buf);
        more = hand_back(q, buf, n);
    }
    serve_stream_free(st);
    drop(q);
    pthread_mutex_lock(&h->mu);
    if (--h->jobs == 0)
        pthread_cond_signal(&h->idle);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Hands q to a thread of its own, its connection suspended until the
 * thread has a reply; false when too many run or the server is stopping. */
static bool start_work(http_req *q)
{
    http *h = q->h;
    pthread_t t;
    pthread_mutex_lock(&h->mu);
    const bool ok = !h->stopping && h->jobs < h->max_jobs &&
                    !pthread_create(&t, &h->detached, work, q);
    if (ok) { /* the thread waits for the lock before it touches these */
        h->jobs++;
        q->refs++;
        q->state = REQ_WORKING;
        q->parked = true;
        MHD_suspend_connection(q->c);
    }
    pthread_mutex_unlock(&h->mu);
    return ok;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, http_req *q)
{
    serve_reply *rep = &q->rep;
    const bool stream = q->state == REQ_STREAM;
    struct MHD_Response *resp;
    if (stream) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, q,
                                                 stream_done);
        if (resp) {
            pthread_mutex_lock(&q->h->mu);
            q->refs++;
            pthread_mutex_unlock(&q->h->mu);
        }
    } else {
        resp = MHD_create_response_from_buffer(rep->body ? strlen(rep->body) : 0, rep->body,
                                               MHD_RESPMEM_MUST_FREE);
        if (resp)
            rep->body = NULL; /* MHD's now */
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", rep->content_type ? rep->content_type
                                                                    : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (stream) {
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    }
    if (rep->retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%d", rep->retry_after);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    q->r.status = rep->status;
    const enum MHD_Result ok = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    http *h = cls;
    server *s = h->srv;
    http_req *q = *con_cls;
    if (!q) { /* the headers: set up, then MHD sends the body in pieces */
        if (!(q = calloc(1, sizeof *q)))
            return MHD_NO;
        *q = (http_req){.r = {.srv = s, .t0 = cli_seconds()}, .h = h, .c = c, .refs = 1};
        snprintf(q->r.method, sizeof q->r.method, "%s", method);
        snprintf(q->r.path, sizeof q->r.path, "%s", url);
        *con_cls = q;
        return MHD_YES;
    }
    serve_request *r = &q->r;
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
    if (q->state != REQ_READING) /* back from its thread, which set the state first */
        return send_reply(c, q);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    /* the pages and /health need no key; the page sends one given as #key=KEY */
    const bool open = !strcmp(url, "/health") || !strcmp(url, "/") || !strcmp(url, "/attend.html");
    if (s->api_key && !open &&
        !(auth && !strncmp(auth, "Bearer ", 7) && same_secret(auth + 7, s->api_key)))
        serve_error(&q->rep, 401, "invalid_request_error", "invalid_api_key",
                    "Incorrect or missing API key: send 'Authorization: Bearer KEY'");
    else if (r->too_big)
        serve_error(&q->rep, 413, "invalid_request_error", "request_too_large",
                    "The request body is larger than the server's limit of %zu bytes",
                    s->max_body);
    else if (strcmp(method, "POST"))
        serve_route(r, &q->rep);
    else if (start_work(q))
        return MHD_YES;
    else {
        serve_error(&q->rep, 503, "server_error", "server_busy", "The server is busy; retry later");
        q->rep.retry_after = 1;
    }
    return send_reply(c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    http_req *q = *con_cls;
    if (!q)
        return;
    pthread_mutex_lock(&q->h->mu);
    q->done = true;
    q->why = why;
    pthread_mutex_unlock(&q->h->mu);
    drop(q);
    *con_cls = NULL;
}

/* What MHD has to say (mostly that a client misbehaved or left), at most
 * a line a second, so that clients cannot flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static double last = -1;
    static long unsaid;
    pthread_mutex_lock(&mu);
    const double now = cli_seconds();
    if (last >= 0 && now - last < 1)
        unsaid++;
    else {
        char msg[256];
        vsnprintf(msg, sizeof msg, fmt, ap);
        msg[strcspn(msg, "\n")] = 0;
        fprintf(stderr, "heed serve: %s", msg);
        if (unsaid)
            fprintf(stderr, " (and %ld more messages since the last)", unsaid);
        fputc('\n', stderr);
        last = now;
        unsaid = 0;
    }
    pthread_mutex_unlock(&mu);
}

/* Room in the open-file limit for n connections beside the server's own
 * files: raises the soft limit toward the hard one, and says so when even
 * that is too low. Returns the connections that fit. */
static unsigned fit_open_files(unsigned n)
{
    enum { OWN_FILES = 64 };
    const rlim_t need = (rlim_t)n + OWN_FILES;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return n;
    const rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &rl))
        rl.rlim_cur = was;
    if (rl.rlim_cur >= need)
        return n;
    const unsigned fit = (unsigned)(rl.rlim_cur > 2 * OWN_FILES ? rl.rlim_cur - OWN_FILES
                                                                : rl.rlim_cur / 2);
    fprintf(stderr, "heed serve: at most %u connections, not %u: the open-file limit is %llu "
            "and its hard limit %llu (which root can raise)\n", fit, n,
            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    return fit;
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

heed_status serve_run(server *s, const char *host, int port, const atomic_int *stop)
{
    listen_addr addr;
    if (!parse_host(host, port, &addr))
        return cli_set_error(HEED_ERR_ARG, "--host '%s' is not an IPv4 or IPv6 address", host);
    /* as many threads as requests can be generating or queued, and some
     * more for the requests being read (tokenize, the JSON) */
    http h = {.srv = s, .max_jobs = s->n_slots + s->max_queue + 16};
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.idle, NULL);
    pthread_attr_init(&h.detached);
    pthread_attr_setdetachstate(&h.detached, PTHREAD_CREATE_DETACHED);
    s->stop = stop;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | addr.flags,
        (uint16_t)port, NULL, NULL, on_request, &h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, &addr.sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &h,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->read_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, fit_open_files((unsigned)s->max_conns),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->max_conns_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, MHD_OPTION_END);
    heed_status st = HEED_OK;
    if (d) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        fprintf(stderr, "heed serve: listening on http://%s:%u\n", addr.url_host,
                info ? info->port : (unsigned)port);
        while (!*stop)
            usleep(100 * 1000);
        /* generation sees *stop and ends; the replies are handed back, and
         * no connection is left suspended, which MHD_stop_daemon forbids */
        pthread_mutex_lock(&h.mu);
        h.stopping = true;
        while (h.jobs)
            pthread_cond_wait(&h.idle, &h.mu);
        pthread_mutex_unlock(&h.mu);
        MHD_stop_daemon(d);
    } else
        st = cli_set_error(HEED_ERR_IO, "cannot listen on %s:%d (in use, or not allowed)",
                           addr.url_host, port);
    pthread_attr_destroy(&h.detached);
    pthread_cond_destroy(&h.idle);
    pthread_mutex_destroy(&h.mu);
    return st;
}
