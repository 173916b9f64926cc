// SPDX-License-Identifier: GPL-2.0
/*
 * mmlab-slabtop - slabtop(1) for mmlab's caches: reads
 * /sys/kernel/debug/mmlab/slabinfo (slabinfo 2.1, with the ` : policy
 * <name>` suffix when the module writes one) and `stats` every few seconds
 * and shows procps slabtop's header and table, plus a POLICY column.
 *
 *   mmlab-slabtop [-d SECS] [-o] [-s KEY] [-n ROWS]
 *
 *   -d SECS  delay between refreshes (default 3)
 *   -o       print once and exit (for scripts and tests)
 *   -s KEY   sort by: a active objects, b objects per slab, c cache size,
 *            l slabs, v active slabs, n name, o objects (default),
 *            p pages per slab, s object size, u utilization
 *   -n ROWS  show at most ROWS caches (default: all)
 *
 * MMLAB_DEBUGFS overrides the directory. Built static (the VM's initramfs
 * has busybox and no libc), like the selftests; docs/pagemap.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_DIR	"/sys/kernel/debug/mmlab"

struct cache {
	char name[64];
	char policy[16];
	unsigned long active_objs, num_objs, objsize, objperslab, pagesperslab;
	unsigned long active_slabs, num_slabs;
};

static long page_size;
static char sort_key = 'o';
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A whole file in a malloc'd, NUL-terminated buffer, or NULL (errno set). */
static char *read_file(const char *dir, const char *name)
{
	size_t cap = 1 << 16, len = 0;
	char path[512], *buf = NULL, *nbuf;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		nbuf = realloc(buf, cap);
		if (!nbuf)
			break;
		buf = nbuf;
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf[len] = '\0';
			close(fd);
			return n < 0 ? (free(buf), NULL) : buf;
		}
		len += n;
		if (len + 1 == cap)
			cap *= 2;
	}
	close(fd);
	free(buf);
	errno = ENOMEM;
	return NULL;
}

/*
 * "name active num objsize objperslab pagesperslab : tunables l b s :
 * slabdata active_slabs num_slabs sharedavail[ : policy <p>]".
 */
static int parse_line(const char *line, struct cache *c)
{
	const char *pol;
	int n;

	memset(c, 0, sizeof(*c));
	if (sscanf(line, "%63s %lu %lu %lu %lu %lu : tunables %*u %*u %*u : slabdata %lu %lu %*u%n",
		   c->name, &c->active_objs, &c->num_objs, &c->objsize, &c->objperslab,
		   &c->pagesperslab, &c->active_slabs, &c->num_slabs, &n) != 8)
		return -1;
	pol = strstr(line + n, ": policy ");
	if (!pol || sscanf(pol, ": policy %15s", c->policy) != 1)
		strcpy(c->policy, "-");
	return 0;
}

static unsigned long cache_kb(const struct cache *c)
{
	return c->num_slabs * c->pagesperslab * (page_size / 1024);
}

static double use_pct(const struct cache *c)
{
	return c->num_objs ? 100.0 * c->active_objs / c->num_objs : 0.0;
}

/* Largest first, as slabtop sorts, except names (alphabetical). */
static int compare(const void *pa, const void *pb)
{
	const struct cache *a = pa, *b = pb;
	double x = 0, y = 0;

	switch (sort_key) {
	case 'a': x = a->active_objs; y = b->active_objs; break;
	case 'b': x = a->objperslab; y = b->objperslab; break;
	case 'c': x = cache_kb(a); y = cache_kb(b); break;
	case 'l': x = a->num_slabs; y = b->num_slabs; break;
	case 'v': x = a->active_slabs; y = b->active_slabs; break;
	case 'n': return strcmp(a->name, b->name);
	case 'o': x = a->num_objs; y = b->num_objs; break;
	case 'p': x = a->pagesperslab; y = b->pagesperslab; break;
	case 's': x = a->objsize; y = b->objsize; break;
	case 'u': x = use_pct(a); y = use_pct(b); break;
	}
	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(a->name, b->name);
}

/* "key value" from the stats view, or -1. */
static long long stat_value(const char *stats, const char *key)
{
	size_t klen = strlen(key);
	const char *p = stats;

	while (p && *p) {
		if (!strncmp(p, key, klen) && (p[klen] == ' ' || p[klen] == '\t'))
			return strtoll(p + klen, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

static int show(const char *dir, long rows, int clear)
{
	unsigned long aobj = 0, tobj = 0, aslab = 0, tslab = 0, acache = 0, tcache = 0;
	double asize = 0, tsize = 0, minsz = 0, maxsz = 0;
	struct cache *caches = NULL, *nc;
	size_t n = 0, cap = 0, i;
	char *text, *stats, *line, *save = NULL;

	text = read_file(dir, "slabinfo");
	if (!text) {
		fprintf(stderr, "mmlab-slabtop: %s/slabinfo: %s\n", dir, strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "slabinfo - version:", 19) || line[0] == '#')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nc = realloc(caches, cap * sizeof(*caches));
			if (!nc) {
				free(caches);
				free(text);
				return -1;
			}
			caches = nc;
		}
		if (parse_line(line, &caches[n])) {
			fprintf(stderr, "mmlab-slabtop: unexpected slabinfo line: %s\n", line);
			continue;
		}
		n++;
	}
	free(text);
	for (i = 0; i < n; i++) {
		const struct cache *c = &caches[i];

		aobj += c->active_objs;
		tobj += c->num_objs;
		aslab += c->active_slabs;
		tslab += c->num_slabs;
		tcache++;
		acache += c->active_objs > 0;
		asize += (double)c->active_objs * c->objsize / 1024;
		tsize += (double)c->num_objs * c->objsize / 1024;
		if (!i || c->objsize < minsz)
			minsz = c->objsize;
		if (c->objsize > maxsz)
			maxsz = c->objsize;
	}
	qsort(caches, n, sizeof(*caches), compare);

	if (clear)
		fputs("\033[H\033[2J", stdout);
	printf(" Active / Total Objects (%% used)    : %lu / %lu (%.1f%%)\n", aobj, tobj,
	       pct(aobj, tobj));
	printf(" Active / Total Slabs (%% used)      : %lu / %lu (%.1f%%)\n", aslab, tslab,
	       pct(aslab, tslab));
	printf(" Active / Total Caches (%% used)     : %lu / %lu (%.1f%%)\n", acache, tcache,
	       pct(acache, tcache));
	printf(" Active / Total Size (%% used)       : %.2fK / %.2fK (%.1f%%)\n", asize, tsize,
	       pct(asize, tsize));
	printf(" Minimum / Average / Maximum Object : %.2fK / %.2fK / %.2fK\n", minsz / 1024,
	       tobj ? tsize / tobj : 0.0, maxsz / 1024);
	stats = read_file(dir, "stats");
	if (stats) {
		printf(" mmlab pages: %lld slab, %lld large kmalloc, %lld free of %lld borrowed\n",
		       stat_value(stats, "slab_pages"), stat_value(stats, "kmalloc_large_pages"),
		       stat_value(stats, "free_pages"), stat_value(stats, "host_pages"));
		free(stats);
	}
	printf("\n%6s %6s %4s %8s %6s %8s %10s %-6s %s\n", "OBJS", "ACTIVE", "USE", "OBJ SIZE",
	       "SLABS", "OBJ/SLAB", "CACHE SIZE", "POLICY", "NAME");
	for (i = 0; i < n && (rows < 0 || (long)i < rows); i++) {
		const struct cache *c = &caches[i];

		printf("%6lu %6lu %3.0f%% %7.2fK %6lu %8lu %9luK %-6s %s\n", c->num_objs,
		       c->active_objs, use_pct(c), c->objsize / 1024.0, c->num_slabs,
		       c->objperslab, cache_kb(c), c->policy, c->name);
	}
	fflush(stdout);
	free(caches);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mmlab-slabtop [-d SECS] [-o] [-s a|b|c|l|v|n|o|p|s|u] [-n ROWS]\n");
}

int main(int argc, char **argv)
{
	const char *dir = getenv("MMLAB_DEBUGFS");
	long delay = 3, rows = -1;
	int once = 0, opt;
	char *end;

	if (!dir || !*dir)
		dir = DEFAULT_DIR;
	page_size = sysconf(_SC_PAGESIZE);
	while ((opt = getopt(argc, argv, "d:os:n:h")) != -1) {
		switch (opt) {
		case 'd':
			delay = strtol(optarg, &end, 10);
			if (*end || delay < 1) {
				fprintf(stderr, "mmlab-slabtop: bad delay '%s'\n", optarg);
				return 2;
			}
			break;
		case 'o':
			once = 1;
			break;
		case 's':
			if (strlen(optarg) != 1 || !strchr("abclvnopsu", optarg[0])) {
				fprintf(stderr, "mmlab-slabtop: bad sort key '%s'\n", optarg);
				usage(stderr);
				return 2;
			}
			sort_key = optarg[0];
			break;
		case 'n':
			rows = strtol(optarg, &end, 10);
			if (*end || rows < 0) {
				fprintf(stderr, "mmlab-slabtop: bad row count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (once)
		return show(dir, rows, 0) ? 1 : 0;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		if (show(dir, rows, isatty(STDOUT_FILENO)))
			return 1;
		sleep(delay);
	}
	return 0;
}
