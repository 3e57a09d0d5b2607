/*
 * hostile_tool - builds hostile guests for tests/integration/hostile_*.sh
 * and tests/soak/guest_storm.sh (docs/reliability.md, "Hostile guests").
 *
 *   hostile_tool files DIR N [PER_DIR [NAMELEN]]
 *       N empty regular files under DIR, PER_DIR (default 10000) to a
 *       subdirectory: DIR/dNNNNN/fNNNNNNN, padded to NAMELEN bytes (at most
 *       255) with "-long".  Prints the number made.
 *   hostile_tool deep DIR DEPTH
 *       a chain DIR/d/d/d/... DEPTH directories deep (made relative to
 *       each parent's fd: the path is longer than PATH_MAX), a file "leaf"
 *       at the bottom.  Prints the depth made.
 *   hostile_tool proc ARGV_BYTES FDS MAPS MAPFILE COMM
 *       a hostile process: re-executes itself with an argv of ARGV_BYTES
 *       bytes (hostile bytes: tabs, newlines, quotes, backslashes, control
 *       characters, invalid UTF-8; many arguments, since one may hold at
 *       most 128 KiB), sets its comm to COMM (prctl PR_SET_NAME; "\t", "\n",
 *       "\\", "\xHH" escapes understood), holds FDS descriptors (a tenth
 *       UDP sockets bound to 127.0.0.1, a tenth pipes, the rest /dev/null),
 *       and maps MAPFILE (created sparse, MAPS pages) with alternating
 *       protections so that /proc/PID/maps has at least MAPS lines, and
 *       MAPFILE.gone (one page), which it then unlinks.  Prints
 *       "ready PID" on stdout once all that holds, then sleeps until killed.
 *   hostile_tool storm SECONDS
 *       a fork and mmap storm for the guest of guest_storm.sh (built
 *       static): forks children that map, touch, mprotect and unmap memory
 *       and exit, as fast as they can, and keeps a ring of live mappings
 *       changing in the parent; prints "storm N forks M maps" at the end
 *       (runs forever with SECONDS 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "hostile_tool: %s: %s\n", what, strerror(errno));
	return 1;
}

static int cmd_files(const char *dir, long n, long per, int namelen)
{
	char name[256];
	int dfd = -1;
	long made = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return die(dir);
	int top = open(dir, O_RDONLY | O_DIRECTORY);
	if (top < 0)
		return die(dir);
	for (long i = 0; i < n; i++) {
		if (i % per == 0) {
			if (dfd >= 0)
				close(dfd);
			snprintf(name, sizeof(name), "d%05ld", i / per);
			if (mkdirat(top, name, 0755) < 0 && errno != EEXIST)
				return die(name);
			dfd = openat(top, name, O_RDONLY | O_DIRECTORY);
			if (dfd < 0)
				return die(name);
		}
		int k = snprintf(name, sizeof(name), "f%07ld", i);
		for (; k < namelen && k < (int)sizeof(name) - 1; k++)
			name[k] = "-long"[k % 5];
		name[k] = 0;
		if (mknodat(dfd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
			return die(name);
		made++;
	}
	printf("%ld\n", made);
	return 0;
}

static int cmd_deep(const char *dir, long depth)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	long d;

	if (fd < 0)
		return die(dir);
	for (d = 0; d < depth; d++) {
		if (mkdirat(fd, "d", 0755) < 0 && errno != EEXIST)
			return die("mkdirat");
		int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		if (nfd < 0)
			return die("openat");
		close(fd);
		fd = nfd;
	}
	int lf = openat(fd, "leaf", O_CREAT | O_WRONLY, 0644);
	if (lf < 0)
		return die("leaf");
	close(lf);
	close(fd);
	printf("%ld\n", d);
	return 0;
}

/* "\t", "\n", "\\" and "\xHH" in s, decoded in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			*o++ = *s;
			continue;
		}
		s++;
		if (*s == 't')
			*o++ = '\t';
		else if (*s == 'n')
			*o++ = '\n';
		else if (*s == 'x' && s[1] && s[2]) {
			char h[3] = {s[1], s[2], 0};
			*o++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = 0;
}

/* One argument of `len` bytes (no NUL) made of hostile pieces. */
static char *hostile_arg(size_t len, unsigned seed)
{
	static const char *const pieces[] = {
	    "tab\there",        "new\nline",    "cr\rret",      "quote\"q", "back\\slash",
	    "\\u0000",          "\\udcff",      "\xff\xfe",     "\xc3",     "\xc3\xa9",
	    "\xf0\x9f\x98\x80", "\x01\x1f\x7f", "\xed\xa0\x80", "\xc0\xaf", " ",
	    "{\"k\":[1]}",
	};
	char *a = malloc(len + 1);
	size_t n = 0;

	if (!a)
		return NULL;
	for (unsigned i = seed; n < len; i++) {
		const char *p = pieces[i % (sizeof(pieces) / sizeof(pieces[0]))];
		for (; *p && n < len; p++)
			a[n++] = *p;
	}
	a[n] = 0;
	return a;
}

static int cmd_proc_exec(char **argv)
{
	long bytes = atol(argv[2]);
	int nargs = (int)(bytes / 2048) + 1;
	char **av = calloc((size_t)nargs + 8, sizeof(*av));
	long left = bytes;
	int k = 0;

	if (!av)
		return die("calloc");
	/* argv[0] and the stage's own arguments count too */
	av[k++] = argv[0];
	av[k++] = "proc2";
	for (int i = 3; i <= 6; i++)
		av[k++] = argv[i];
	for (int i = 0; i < k; i++)
		left -= (long)strlen(av[i]) + 1;
	for (unsigned s = 0; left > 1; s++) {
		size_t len = left > 2048 ? 2047 : (size_t)left - 1;
		if (!(av[k++] = hostile_arg(len, s)))
			return die("malloc");
		left -= (long)len + 1;
	}
	av[k] = NULL;
	execv("/proc/self/exe", av);
	return die("execv");
}

static int cmd_proc(char **argv)
{
	long fds = atol(argv[2]), maps = atol(argv[3]);
	const char *mapfile = argv[4];
	char comm[64];
	struct rlimit rl;
	long page = sysconf(_SC_PAGESIZE);
	int held = 3;

	snprintf(comm, sizeof(comm), "%s", argv[5]);
	unescape(comm);
	if (prctl(PR_SET_NAME, comm) < 0)
		return die("prctl");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)fds + 64) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return die("setrlimit");
	}
	for (long i = 0; held < fds && i < fds / 10; i++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_addr.s_addr = htonl(0x7f000001)};
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return die("udp socket");
		held++;
	}
	for (long i = 0; held + 1 < fds && i < fds / 20; i++) {
		int p[2];
		if (pipe(p) < 0)
			return die("pipe");
		held += 2;
	}
	while (held < fds) {
		if (open("/dev/null", O_RDONLY) < 0)
			return die("/dev/null");
		held++;
	}
	if (maps > 0) {
		int fd = open(mapfile, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return die(mapfile);
		if (ftruncate(fd, (off_t)maps * page) < 0)
			return die("ftruncate");
		char *m = mmap(NULL, (size_t)maps * (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			return die("mmap");
		close(fd); /* the mapping holds the file; the count of fds stays FDS */
		for (long i = 1; i < maps; i += 2)
			if (mprotect(m + i * page, (size_t)page, PROT_NONE) < 0)
				return die("mprotect (is vm.max_map_count high enough?)");
		/* MAPFILE.gone: mapped, then unlinked (a "deleted" mapping) */
		char gone[4096];
		snprintf(gone, sizeof(gone), "%s.gone", mapfile);
		fd = open(gone, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, page) < 0)
			return die(gone);
		if (mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
			return die("mmap");
		close(fd);
		if (unlink(gone) < 0)
			return die(gone);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

static volatile sig_atomic_t stop;
static void on_alarm(int sig)
{
	(void)sig;
	stop = 1;
}

/* The child of the storm: map, touch, change and unmap memory, exit. */
static void storm_child(unsigned seed)
{
	long page = 4096;
	for (int r = 0; r < 4; r++) {
		size_t n = (size_t)(1 + (seed + (unsigned)r) % 16) * (size_t)page;
		char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(1);
		for (size_t o = 0; o < n; o += (size_t)page)
			m[o] = (char)o;
		if (n > (size_t)page)
			mprotect(m, (size_t)page, PROT_READ);
		munmap(m, n);
	}
	_exit(0);
}

static int cmd_storm(long seconds)
{
	enum { RING = 256 };
	char *ring[RING] = {0};
	size_t ringsz[RING] = {0};
	unsigned long forks = 0, maps = 0;
	long page = 4096;

	signal(SIGALRM, on_alarm);
	if (seconds > 0)
		alarm((unsigned)seconds);
	for (unsigned i = 0; !stop; i++) {
		pid_t c = fork();
		if (c == 0)
			storm_child(i);
		if (c > 0)
			forks++;
		/* the parent's own mappings change all the time too */
		unsigned k = i % RING;
		if (ring[k])
			munmap(ring[k], ringsz[k]);
		ringsz[k] = (size_t)(1 + i % 32) * (size_t)page;
		ring[k] = mmap(NULL, ringsz[k], (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ring[k] == MAP_FAILED)
			ring[k] = NULL;
		else if (i & 1)
			memset(ring[k], (int)i, ringsz[k]);
		maps++;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (c < 0) /* too many at once: let some finish */
			waitpid(-1, NULL, 0);
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	printf("storm %lu forks %lu maps\n", forks, maps);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "files"))
		return cmd_files(argv[2], atol(argv[3]), argc > 4 ? atol(argv[4]) : 10000,
		                 argc > 5 ? atoi(argv[5]) : 0);
	if (argc == 4 && !strcmp(argv[1], "deep"))
		return cmd_deep(argv[2], atol(argv[3]));
	if (argc == 7 && !strcmp(argv[1], "proc"))
		return cmd_proc_exec(argv);
	if (argc >= 6 && !strcmp(argv[1], "proc2"))
		return cmd_proc(argv);
	if (argc == 3 && !strcmp(argv[1], "storm"))
		return cmd_storm(atol(argv[2]));
	fprintf(stderr, "usage: hostile_tool files DIR N [PER_DIR [NAMELEN]] | deep DIR DEPTH |\n"
	                "       proc ARGV_BYTES FDS MAPS MAPFILE COMM | storm SECONDS\n");
	return 2;
}
