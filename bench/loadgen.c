/*
 * loadgen - an open-loop HTTP/1.1 load generator: requests at a fixed rate,
 * whatever the server's speed, with latency measured from when each request
 * was due (so a stalled server shows as latency, not as fewer requests:
 * no coordinated omission).  Debian's wrk is closed-loop only.
 *
 *   build/bench/loadgen -a HOST:PORT -r RATE -d SECONDS -p PATHS_FILE
 *                       [-c MAXCONNS] [-H 'Header: value']... [-t TIMEOUT_S]
 *                       [-s SOURCE_ADDR]
 *
 * PATHS_FILE: one request target a line, sent round-robin.  Connections are
 * kept alive and reused; a request due while every connection is busy waits
 * for one, or a new connection is opened (up to MAXCONNS, default 64).  A
 * request that meets a kept-alive connection closed by the server before
 * any byte of its answer is sent again once on a new connection (what an
 * HTTP client does with an idempotent request) and counted as "retried".
 * Prints one summary line and one line per target:
 *   requests=N ok=N non2xx=N errors=N timeouts=N retried=N rate=R/s
 *   conns=N p50_ms= p90_ms= p99_ms= p999_ms= max_ms=
 * Exit status 0 when every request got a 2xx answer, 1 otherwise, 2 on
 * bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum cstate { C_FREE, C_CONNECTING, C_SENDING, C_HEAD, C_BODY, C_CHUNK, C_IDLE };

struct req {
	int64_t due, sent, done;
	int path, status, tries;
	int err; /* 0, 1 error, 2 timeout */
};

struct conn {
	int fd;
	enum cstate st;
	int req;    /* index in reqs, -1 */
	int reused; /* has answered a request before */
	char *out;
	size_t out_len, out_off;
	char head[16384];
	size_t head_len;
	int64_t body_left; /* C_BODY: bytes; -1 until close */
	int close_after;
	/* chunked: text of the size line so far, or bytes of the chunk left */
	char cline[64];
	size_t cline_len;
	int64_t chunk_left; /* -1: reading a size line; -2: reading trailer CRLF; -3: trailers */
	int got_bytes;
};

static char **paths;
static int npaths;
static char *headers = NULL; /* extra header lines, each with CRLF */
static char host_hdr[300];
static struct sockaddr_in addr, src;
static int have_src;
static int maxconns = 64;
static struct conn *conns;
static int epfd;
static struct req *reqs;
static int nreqs;
static int *queue; /* requests due, waiting for a connection */
static int qhead, qtail;
static int64_t timeout_ns = 10000000000LL;
static long conns_opened, retried;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: loadgen -a HOST:PORT -r RATE -d SECONDS -p PATHS_FILE [-c MAXCONNS] "
	        "[-H 'Header: value']... [-t TIMEOUT_S] [-s SOURCE_ADDR]\n");
	exit(2);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->st = C_FREE;
	c->req = -1;
	c->reused = 0;
}

static void finish(struct conn *c, int err)
{
	struct req *r = &reqs[c->req];
	r->done = now_ns();
	r->err = err;
	c->req = -1;
}

/* The connection failed under its request: send it again once on a new
 * connection when it was a reused one that never saw a byte of the answer,
 * else an error. */
static void conn_fail(struct conn *c)
{
	if (c->req >= 0) {
		struct req *r = &reqs[c->req];
		if (c->reused && !c->got_bytes && r->tries < 2) {
			retried++;
			queue[--qhead] = c->req; /* in front: it is the oldest due */
			c->req = -1;
		} else {
			finish(c, 1);
		}
	}
	conn_close(c);
}

static int conn_open(struct conn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (have_src && bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->st = C_CONNECTING;
	c->reused = 0;
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	conns_opened++;
	return 0;
}

static void start_request(struct conn *c, int ri)
{
	struct req *r = &reqs[ri];
	r->tries++;
	c->req = ri;
	free(c->out);
	c->out_len =
	    (size_t)asprintf(&c->out, "GET %s HTTP/1.1\r\nHost: %s\r\n%sAccept: */*\r\n\r\n",
	                     paths[r->path], host_hdr, headers ? headers : "");
	c->out_off = 0;
	c->head_len = 0;
	c->got_bytes = 0;
	c->close_after = 0;
	c->st = C_SENDING;
	r->sent = now_ns();
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void to_idle(struct conn *c)
{
	c->reused = 1;
	if (c->close_after) {
		conn_close(c);
		return;
	}
	c->st = C_IDLE;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Parse the head in c->head (complete, ends at hend); set up the body. */
static int parse_head(struct conn *c, size_t hend)
{
	c->head[hend] = 0;
	int status = 0;
	if (sscanf(c->head, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	reqs[c->req].status = status;
	c->body_left = -1;
	int chunked = 0;
	for (char *l = strstr(c->head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		char *h = l + 2;
		if (!strncasecmp(h, "Content-Length:", 15))
			c->body_left = strtoll(h + 15, NULL, 10);
		else if (!strncasecmp(h, "Transfer-Encoding:", 18) && strcasestr(h, "chunked"))
			chunked = 1;
		else if (!strncasecmp(h, "Connection:", 11) &&
		         strncasecmp(h + 11, " close", 6) == 0)
			c->close_after = 1;
	}
	if (chunked) {
		c->st = C_CHUNK;
		c->chunk_left = -1;
		c->cline_len = 0;
	} else {
		c->st = C_BODY;
		if (c->body_left < 0)
			c->close_after = 1; /* until end of file */
	}
	return 0;
}

/* Consume n body bytes at p; 1 when the answer is complete. */
static int body_bytes(struct conn *c, const char *p, size_t n)
{
	if (c->st == C_BODY) {
		if (c->body_left < 0)
			return 0;
		c->body_left -= (int64_t)n;
		return c->body_left <= 0;
	}
	/* chunked */
	size_t i = 0;
	while (i < n) {
		if (c->chunk_left > 0) {
			size_t k = (size_t)c->chunk_left < n - i ? (size_t)c->chunk_left : n - i;
			c->chunk_left -= (int64_t)k;
			i += k;
			if (c->chunk_left == 0)
				c->chunk_left = -2; /* the CRLF after the data */
			continue;
		}
		char ch = p[i++];
		if (c->cline_len < sizeof(c->cline) - 1)
			c->cline[c->cline_len++] = ch;
		if (ch != '\n')
			continue;
		c->cline[c->cline_len] = 0;
		if (c->chunk_left == -2) { /* CRLF after data */
			c->chunk_left = -1;
		} else if (c->chunk_left == -1) { /* size line */
			long long sz = strtoll(c->cline, NULL, 16);
			c->chunk_left = sz > 0 ? sz : -3;
		} else if (c->chunk_left == -3) { /* trailers: an empty line ends */
			if (c->cline_len <= 2)
				return 1;
		}
		c->cline_len = 0;
	}
	return 0;
}

static void on_read(struct conn *c)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			conn_fail(c);
			return;
		}
		if (n == 0) {
			if (c->req >= 0 && c->st == C_BODY && c->body_left < 0) {
				finish(c, 0); /* body until end of file */
				conn_close(c);
			} else if (c->req >= 0) {
				conn_fail(c);
			} else {
				conn_close(c);
			}
			return;
		}
		if (c->req < 0) { /* bytes while idle: not ours; drop the connection */
			conn_close(c);
			return;
		}
		c->got_bytes = 1;
		size_t off = 0;
		if (c->st == C_SENDING || c->st == C_HEAD) {
			c->st = C_HEAD;
			size_t room = sizeof(c->head) - 1 - c->head_len;
			size_t k = (size_t)n < room ? (size_t)n : room;
			memcpy(c->head + c->head_len, buf, k);
			c->head_len += k;
			c->head[c->head_len] = 0;
			char *e = strstr(c->head, "\r\n\r\n");
			if (!e) {
				if (c->head_len >= sizeof(c->head) - 1)
					conn_fail(c);
				continue;
			}
			size_t hend = (size_t)(e - c->head) + 4;
			/* the bytes of buf past the head */
			off = k - (c->head_len - hend);
			if (parse_head(c, hend) < 0) {
				conn_fail(c);
				return;
			}
			if (c->st == C_BODY && c->body_left == 0) {
				finish(c, 0);
				to_idle(c);
				return;
			}
		}
		if (body_bytes(c, buf + off, (size_t)n - off)) {
			finish(c, 0);
			to_idle(c);
			return;
		}
	}
}

static void on_write(struct conn *c)
{
	if (c->st == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			conn_fail(c);
			return;
		}
		c->st = C_IDLE;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	if (c->st != C_SENDING)
		return;
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			conn_fail(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->st = C_HEAD;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Hand queued requests to idle connections; open new ones for the rest. */
static void dispatch(void)
{
	int pending_connects = 0;
	for (int i = 0; i < maxconns; i++)
		if (conns[i].st == C_CONNECTING)
			pending_connects++;
	for (int i = 0; i < maxconns && qhead < qtail; i++) {
		struct conn *c = &conns[i];
		if (c->st == C_IDLE && c->req < 0)
			start_request(c, queue[qhead++]);
	}
	for (int i = 0; i < maxconns && qtail - qhead > pending_connects; i++) {
		struct conn *c = &conns[i];
		if (c->st == C_FREE && conn_open(c) == 0)
			pending_connects++;
	}
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(int64_t *v, int n, double p)
{
	if (n == 0)
		return 0;
	int i = (int)(p * (n - 1) + 0.5);
	return v[i] / 1e6;
}

static void report(const char *label, int path, double secs)
{
	int64_t *lat = malloc(sizeof(int64_t) * (size_t)(nreqs + 1));
	int n = 0, ok = 0, non2xx = 0, errs = 0, tmo = 0, total = 0;
	for (int i = 0; i < nreqs; i++) {
		struct req *r = &reqs[i];
		if (path >= 0 && r->path != path)
			continue;
		total++;
		if (r->err == 2) {
			tmo++;
			continue;
		}
		if (r->err || r->done == 0) {
			errs++;
			continue;
		}
		if (r->status >= 200 && r->status < 300)
			ok++;
		else
			non2xx++;
		lat[n++] = r->done - r->due;
	}
	qsort(lat, (size_t)n, sizeof(int64_t), cmp64);
	printf("%s requests=%d ok=%d non2xx=%d errors=%d timeouts=%d", label, total, ok, non2xx,
	       errs, tmo);
	if (path < 0)
		printf(" retried=%ld rate=%.1f/s conns=%ld", retried, total / secs, conns_opened);
	printf(" p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f\n", pct(lat, n, 0.5),
	       pct(lat, n, 0.9), pct(lat, n, 0.99), pct(lat, n, 0.999), n ? lat[n - 1] / 1e6 : 0.0);
	free(lat);
}

int main(int argc, char **argv)
{
	const char *hostport = NULL, *pfile = NULL;
	double rate = 0, secs = 0;
	int opt;
	while ((opt = getopt(argc, argv, "a:r:d:p:c:H:t:s:")) != -1) {
		switch (opt) {
		case 'a':
			hostport = optarg;
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'p':
			pfile = optarg;
			break;
		case 'c':
			maxconns = atoi(optarg);
			break;
		case 't':
			timeout_ns = (int64_t)(atof(optarg) * 1e9);
			break;
		case 'H': {
			char *h = NULL;
			if (asprintf(&h, "%s%s\r\n", headers ? headers : "", optarg) < 0)
				return 2;
			free(headers);
			headers = h;
			break;
		}
		case 's':
			if (inet_pton(AF_INET, optarg, &src.sin_addr) != 1) {
				fprintf(stderr, "loadgen: -s %s: not an IPv4 address\n", optarg);
				return 2;
			}
			src.sin_family = AF_INET;
			have_src = 1;
			break;
		default:
			usage();
		}
	}
	if (!hostport || !pfile || rate <= 0 || secs <= 0 || maxconns < 1)
		usage();
	const char *colon = strrchr(hostport, ':');
	if (!colon) {
		fprintf(stderr, "loadgen: -a %s: not HOST:PORT\n", hostport);
		return 2;
	}
	char host[256];
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "loadgen: -a %s: not an IPv4 address and port\n", hostport);
		return 2;
	}
	snprintf(host_hdr, sizeof(host_hdr), "%s", hostport);
	FILE *f = fopen(pfile, "r");
	if (!f) {
		fprintf(stderr, "loadgen: %s: %s\n", pfile, strerror(errno));
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (len == 0)
			continue;
		paths = realloc(paths, sizeof(char *) * (size_t)(npaths + 1));
		paths[npaths++] = strdup(line);
	}
	fclose(f);
	free(line);
	if (npaths == 0) {
		fprintf(stderr, "loadgen: %s: no request targets\n", pfile);
		return 2;
	}

	nreqs = (int)(rate * secs);
	reqs = calloc((size_t)nreqs, sizeof(*reqs));
	/* a retried request goes back in front of the queue: room before the head */
	queue = calloc((size_t)nreqs * 2 + 16, sizeof(int));
	qhead = qtail = nreqs + 8;
	conns = calloc((size_t)maxconns, sizeof(*conns));
	for (int i = 0; i < maxconns; i++) {
		conns[i].fd = -1;
		conns[i].req = -1;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	int64_t t0 = now_ns() + 10000000;
	int64_t step = (int64_t)(1e9 / rate);
	int next = 0;
	struct epoll_event evs[256];
	for (;;) {
		int64_t now = now_ns();
		while (next < nreqs && t0 + next * step <= now) {
			reqs[next].due = t0 + next * step;
			reqs[next].path = next % npaths;
			queue[qtail++] = next;
			next++;
		}
		/* requests past their time limit: time out (queued or on a connection) */
		for (int i = 0; i < maxconns; i++) {
			struct conn *c = &conns[i];
			if (c->req >= 0 && now - reqs[c->req].due > timeout_ns) {
				finish(c, 2);
				conn_close(c);
			}
		}
		while (qhead < qtail && now - reqs[queue[qhead]].due > timeout_ns) {
			reqs[queue[qhead]].err = 2;
			reqs[queue[qhead]].done = now;
			qhead++;
		}
		dispatch();
		int busy = qtail - qhead;
		for (int i = 0; i < maxconns; i++)
			busy += conns[i].req >= 0;
		if (next >= nreqs && busy == 0)
			break;
		int64_t wait = next < nreqs ? t0 + next * step - now_ns() : 50000000;
		int ms = wait <= 0 ? 0 : (int)((wait + 999999) / 1000000);
		int n = epoll_wait(epfd, evs, 256, ms > 50 ? 50 : ms);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT)
				on_write(c);
			if (c->fd >= 0 &&
			    (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
				on_read(c);
		}
	}
	double span = (now_ns() - t0) / 1e9;
	report("all", -1, secs);
	for (int p = 0; p < npaths; p++) {
		char label[80];
		snprintf(label, sizeof(label), "path%d", p);
		report(label, p, span);
	}
	int bad = 0;
	for (int i = 0; i < nreqs; i++)
		if (reqs[i].err || reqs[i].status < 200 || reqs[i].status >= 300)
			bad++;
	return bad ? 1 : 0;
}
