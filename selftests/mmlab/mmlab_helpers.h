/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmlab_helpers.h - shared helpers for the mmlab kselftests: reading the
 * debugfs views, parsing them strictly, and talking to the control file.
 *
 * The interface is documented in docs/debugfs.md. Every parser here is
 * strict on purpose: a view that drifts from the documented format fails a
 * test instead of being silently accepted.
 *
 * The debugfs directory is /sys/kernel/debug/mmlab unless MMLAB_DEBUGFS is
 * set in the environment.
 */
#ifndef MMLAB_SELFTEST_HELPERS_H
#define MMLAB_SELFTEST_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MMLAB_DEBUGFS_DEFAULT	"/sys/kernel/debug/mmlab"
#define MMLAB_MAX_ORDERS	32	/* more columns than any sane chunk_order */
#define MMLAB_MAX_ZONES		8
#define MMLAB_MAX_KEYS		64	/* "key value" lines kept per view/zone */
#define MMLAB_MAX_CPUS		64
#define MMLAB_PFN_4G		0x100000ull	/* first pfn at or above 4 GiB */
#define MMLAB_VIEW_MAX		(64 * 1024)
#define MMLAB_RESULT_MAX	1024
#define MMLAB_LINE_LIMIT	256	/* longest accepted command, docs/debugfs.md */
#define MMLAB_MAX_HANDLES	4096	/* live control handles, docs/debugfs.md */

/* Line-buffer stdout: the runner pipes our output, and the harness mixes
 * stdout (progress) with stderr (assertion messages). */
static void __attribute__((constructor)) mmlab_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline const char *mmlab_dir(void)
{
	const char *d = getenv("MMLAB_DEBUGFS");

	return d && *d ? d : MMLAB_DEBUGFS_DEFAULT;
}

static inline void mmlab_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", mmlab_dir(), name);
}

/* Read a whole debugfs file into buf (NUL-terminated). Length or -errno. */
static inline ssize_t mmlab_read_file(const char *name, char *buf, size_t cap)
{
	char path[512];
	size_t len = 0;
	ssize_t n;
	int fd, err;

	mmlab_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (len + 1 >= cap)
		return -EFBIG;
	return len;
}

/*
 * Does the whole of s match the extended regex re? Compiled patterns are
 * cached (the parsers match every line of a view against a handful).
 */
static inline int mmlab_match(const char *re, const char *s)
{
	static struct {
		char *pat;
		regex_t r;
	} cache[48];
	static unsigned int ncache;
	unsigned int i;
	regex_t r;
	int ok;

	for (i = 0; i < ncache; i++)
		if (!strcmp(cache[i].pat, re))
			return regexec(&cache[i].r, s, 0, NULL, 0) == 0;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	if (ncache < sizeof(cache) / sizeof(cache[0]) && (cache[ncache].pat = strdup(re))) {
		cache[ncache++].r = r;
		return ok;
	}
	regfree(&r);
	return ok;
}


/* A numeric field of a cache_info answer ("... key <n> ..."), or -1. */
static inline int64_t info_field(const char *res, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s ", key);
	p = strstr(res, pat);
	if (!p)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

/* Copy the next line of *text (without its '\n') into line; advance *text.
 * Returns 0 at the end of the text, -1 if the line does not fit or the text
 * does not end with a newline. */
static inline int mmlab_next_line(const char **text, char *line, size_t cap)
{
	const char *nl;
	size_t len;

	if (!**text)
		return 0;
	nl = strchr(*text, '\n');
	if (!nl)
		return -1;
	len = nl - *text;
	if (len >= cap)
		return -1;
	memcpy(line, *text, len);
	line[len] = '\0';
	*text = nl + 1;
	return 1;
}

/* --- stats ---------------------------------------------------------------- */

struct mmlab_stats {
	uint64_t chunk_order;
	uint64_t capacity_pages;
	uint64_t host_chunks;
	uint64_t host_pages;
	uint64_t host_chunks_borrowed;
	uint64_t host_chunks_returned;
	uint64_t free_pages;
	uint64_t used_pages;
	uint64_t control_handles;
	uint64_t pcp_pages;		/* on per-CPU lists: neither free nor used */
	unsigned int nkeys;		/* every "key value" line, documented or not */
	struct {
		char key[48];
		uint64_t val;
	} kv[MMLAB_MAX_KEYS];
	unsigned int norders;		/* rows in the per-order table */
	uint64_t allocs[MMLAB_MAX_ORDERS];
	uint64_t frees[MMLAB_MAX_ORDERS];
	uint64_t failures[MMLAB_MAX_ORDERS];
};

#define MMLAB_STATS_KEYS(X) \
	X(chunk_order) X(capacity_pages) X(host_chunks) X(host_pages) \
	X(host_chunks_borrowed) X(host_chunks_returned) X(free_pages) \
	X(used_pages) X(control_handles) X(pcp_pages)

/*
 * Parse the stats view strictly: "key value" lines (every documented key
 * exactly once; unknown keys must still look like "key value"), the header
 * "order allocs frees failures", then one row per order 0..chunk_order.
 * Returns 0, or -1 with the reason in why.
 */
static inline int mmlab_parse_stats(const char *text, struct mmlab_stats *s,
				    char *why, size_t whycap)
{
	static const char *const keys[] = {
#define X(k) #k,
		MMLAB_STATS_KEYS(X)
#undef X
	};
	uint64_t *const vals[] = {
#define X(k) &s->k,
		MMLAB_STATS_KEYS(X)
#undef X
	};
	unsigned int nkeys = sizeof(keys) / sizeof(keys[0]), seen = 0, i;
	char line[512], key[128];
	uint64_t v, o, a, f, fl;
	int r, in_table = 0;

	memset(s, 0, sizeof(*s));
	while ((r = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		if (!in_table) {
			if (mmlab_match("^order +allocs +frees +failures$", line)) {
				in_table = 1;
				continue;
			}
			if (!mmlab_match("^[a-z_][a-z0-9_]* +[0-9]+$", line) ||
			    sscanf(line, "%127s %" SCNu64, key, &v) != 2) {
				snprintf(why, whycap, "bad key line '%.160s'", line);
				return -1;
			}
			if (s->nkeys < MMLAB_MAX_KEYS && strlen(key) < sizeof(s->kv[0].key)) {
				strcpy(s->kv[s->nkeys].key, key);
				s->kv[s->nkeys++].val = v;
			}
			for (i = 0; i < nkeys; i++) {
				if (strcmp(key, keys[i]))
					continue;
				if (seen & (1u << i)) {
					snprintf(why, whycap, "key %s twice", key);
					return -1;
				}
				seen |= 1u << i;
				*vals[i] = v;
			}
			continue;
		}
		if (s->norders > s->chunk_order)
			break;	/* the table is complete; later sections are not ours */
		if (!mmlab_match("^ *[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$", line) ||
		    sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
			   &o, &a, &f, &fl) != 4) {
			snprintf(why, whycap, "bad order row '%.160s'", line);
			return -1;
		}
		if (o != s->norders || o >= MMLAB_MAX_ORDERS) {
			snprintf(why, whycap, "order row %" PRIu64 " where %u was due",
				 o, s->norders);
			return -1;
		}
		s->allocs[o] = a;
		s->frees[o] = f;
		s->failures[o] = fl;
		s->norders++;
	}
	if (r < 0) {
		snprintf(why, whycap, "overlong or unterminated line");
		return -1;
	}
	for (i = 0; i < nkeys; i++) {
		if (!(seen & (1u << i))) {
			snprintf(why, whycap, "key %s missing", keys[i]);
			return -1;
		}
	}
	if (!in_table) {
		snprintf(why, whycap, "no 'order allocs frees failures' header");
		return -1;
	}
	if (s->norders != s->chunk_order + 1) {
		snprintf(why, whycap, "%u order rows, chunk_order is %" PRIu64,
			 s->norders, s->chunk_order);
		return -1;
	}
	return 0;
}

/* Any "key value" line of stats by name: 0 and *v, or -1 if absent. */
static inline int mmlab_stats_get(const struct mmlab_stats *s, const char *key,
				  uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < s->nkeys; i++) {
		if (!strcmp(s->kv[i].key, key)) {
			*v = s->kv[i].val;
			return 0;
		}
	}
	return -1;
}

/* A whole view in a malloc'd buffer (the caller frees it), or NULL and why. */
static inline char *mmlab_read_view(const char *view, char *why, size_t whycap)
{
	char *buf = malloc(MMLAB_VIEW_MAX);
	ssize_t n;

	if (!buf) {
		snprintf(why, whycap, "out of memory");
		return NULL;
	}
	n = mmlab_read_file(view, buf, MMLAB_VIEW_MAX);
	if (n < 0) {
		snprintf(why, whycap, "read %s: %s", view, strerror(-n));
		free(buf);
		return NULL;
	}
	return buf;
}

static inline int mmlab_read_stats(struct mmlab_stats *s, char *why, size_t whycap)
{
	char *buf = mmlab_read_view("stats", why, whycap);
	int ret;

	if (!buf)
		return -1;
	ret = mmlab_parse_stats(buf, s, why, whycap);
	free(buf);
	return ret;
}

/* --- buddyinfo ------------------------------------------------------------ */

struct mmlab_zone_row {
	int node;
	char zone[32];
	unsigned int ncols;
	uint64_t free[MMLAB_MAX_ORDERS];
};

struct mmlab_buddyinfo {
	unsigned int nzones;
	struct mmlab_zone_row z[MMLAB_MAX_ZONES];
};

/*
 * Parse buddyinfo: every line must be exactly
 * "Node %d, zone %8s " followed by ncols times "%6lu " (mm/vmstat.c), checked
 * both by regex and by rendering the parsed numbers again and comparing
 * byte for byte. Returns 0, or -1 with the reason in why.
 */
static inline int mmlab_parse_buddyinfo(const char *text, unsigned int ncols,
					struct mmlab_buddyinfo *bi, char *why,
					size_t whycap)
{
	char line[1024], re[128], again[1024];
	struct mmlab_zone_row *z;
	unsigned int i;
	size_t len;
	int r, off;
	char *p;

	memset(bi, 0, sizeof(*bi));
	snprintf(re, sizeof(re), "^Node [0-9]+, zone +[A-Za-z0-9]+( +[0-9]+ ){%u}$",
		 ncols);
	while ((r = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		if (bi->nzones == MMLAB_MAX_ZONES) {
			snprintf(why, whycap, "more than %d zones", MMLAB_MAX_ZONES);
			return -1;
		}
		if (!mmlab_match(re, line)) {
			snprintf(why, whycap, "line '%.160s' does not match %s", line, re);
			return -1;
		}
		z = &bi->z[bi->nzones++];
		if (sscanf(line, "Node %d, zone %31s %n", &z->node, z->zone, &off) != 2) {
			snprintf(why, whycap, "cannot parse '%.160s'", line);
			return -1;
		}
		p = line + off;
		for (i = 0; i < ncols; i++)
			z->free[i] = strtoull(p, &p, 10);
		z->ncols = ncols;

		len = snprintf(again, sizeof(again), "Node %d, zone %8s ", z->node, z->zone);
		for (i = 0; i < ncols && len < sizeof(again); i++)
			len += snprintf(again + len, sizeof(again) - len, "%6" PRIu64 " ",
					z->free[i]);
		if (strcmp(again, line)) {
			snprintf(why, whycap, "line '%.160s' is not what \"Node %%d, zone %%8s \" + \"%%6lu \" gives: '%.160s'",
				 line, again);
			return -1;
		}
	}
	if (r < 0) {
		snprintf(why, whycap, "overlong or unterminated line");
		return -1;
	}
	if (!bi->nzones) {
		snprintf(why, whycap, "no zone lines");
		return -1;
	}
	return 0;
}

static inline int mmlab_read_buddyinfo(unsigned int ncols, struct mmlab_buddyinfo *bi,
				       char *why, size_t whycap)
{
	char buf[8192];
	ssize_t n = mmlab_read_file("buddyinfo", buf, sizeof(buf));

	if (n < 0) {
		snprintf(why, whycap, "read buddyinfo: %s", strerror(-n));
		return -1;
	}
	return mmlab_parse_buddyinfo(buf, ncols, bi, why, whycap);
}

/* The zone called name on node 0, or NULL. */
static inline const struct mmlab_zone_row *mmlab_bi_zone(const struct mmlab_buddyinfo *bi,
							 const char *name)
{
	unsigned int i;

	for (i = 0; i < bi->nzones; i++)
		if (bi->z[i].node == 0 && !strcmp(bi->z[i].zone, name))
			return &bi->z[i];
	return NULL;
}

/* Pages in a buddyinfo row. */
static inline uint64_t mmlab_bi_pages(const struct mmlab_zone_row *z)
{
	uint64_t sum = 0;
	unsigned int o;

	for (o = 0; o < z->ncols; o++)
		sum += z->free[o] << o;
	return sum;
}

/* The Normal zone of node 0, or NULL. */
static inline const struct mmlab_zone_row *mmlab_normal(const struct mmlab_buddyinfo *bi)
{
	unsigned int i;

	for (i = 0; i < bi->nzones; i++)
		if (bi->z[i].node == 0 && !strcmp(bi->z[i].zone, "Normal"))
			return &bi->z[i];
	return NULL;
}

/* --- zoneinfo ------------------------------------------------------------- */

struct mmlab_pageset {
	unsigned int cpu;
	uint64_t count, high, batch;
};

struct mmlab_zi_zone {
	int node;
	char name[32];
	uint64_t free, min, low, high, spanned, present, managed, start_pfn;
	unsigned int nprot;			/* entries of "protection: (...)" */
	uint64_t protection[MMLAB_MAX_ZONES];
	unsigned int nkeys;			/* counters: "nr_free_pages 3072" ... */
	struct {
		char key[48];
		uint64_t val;
	} kv[MMLAB_MAX_KEYS];
	unsigned int ncpus;			/* pagesets, in the order listed */
	struct mmlab_pageset pcp[MMLAB_MAX_CPUS];
};

struct mmlab_zoneinfo {
	unsigned int nzones;
	struct mmlab_zi_zone z[MMLAB_MAX_ZONES];
};

/*
 * Parse the zoneinfo view (docs/debugfs.md): per zone a "Node %d, zone %8s"
 * header, "pages free", min/low/high/spanned/present/managed, "protection:
 * (a, b, ...)", counter lines "name value", "pagesets" with "cpu: N" and its
 * "count:", "high:", "batch:" (other "key: value" lines of a pageset are
 * accepted), and "start_pfn:". Every documented line must be there exactly
 * once per zone (count/high/batch once per CPU); anything that is not one
 * of these shapes is an error. Returns 0, or -1 with the reason in why.
 */
static inline int mmlab_parse_zoneinfo(const char *text, struct mmlab_zoneinfo *zi,
				       char *why, size_t whycap)
{
	enum { F_FREE, F_MIN, F_LOW, F_HIGH, F_SPANNED, F_PRESENT, F_MANAGED,
	       F_PROT, F_PAGESETS, F_START, F_NR };
	static const char *const wm[] = { "min", "low", "high", "spanned", "present",
					  "managed" };
	char line[512], key[64], again[64];
	struct mmlab_zi_zone *z = NULL;
	struct mmlab_pageset *p = NULL;
	unsigned int seen = 0, pseen = 0, i;
	uint64_t v;
	int r, off;
	char *q;

#define ZI_FAIL(...) do { snprintf(why, whycap, __VA_ARGS__); return -1; } while (0)
#define ZI_ZONE_DONE() do {							\
		if (z && seen != (1u << F_NR) - 1)				\
			ZI_FAIL("zone %s lacks a documented line (mask 0x%x)", z->name, seen); \
		if (p && pseen != 7)						\
			ZI_FAIL("zone %s cpu %u lacks count/high/batch", z->name, p->cpu); \
	} while (0)
#define ZI_ONCE(bit) do {							\
		if (seen & (1u << (bit)))					\
			ZI_FAIL("zone %s: '%.100s' twice", z->name, line);	\
		seen |= 1u << (bit);						\
	} while (0)

	memset(zi, 0, sizeof(*zi));
	while ((r = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		if (mmlab_match("^Node [0-9]+, zone +[A-Za-z0-9]+$", line)) {
			ZI_ZONE_DONE();
			if (zi->nzones == MMLAB_MAX_ZONES)
				ZI_FAIL("more than %d zones", MMLAB_MAX_ZONES);
			z = &zi->z[zi->nzones++];
			p = NULL;
			seen = pseen = 0;
			if (sscanf(line, "Node %d, zone %31s", &z->node, z->name) != 2)
				ZI_FAIL("cannot parse '%.160s'", line);
			snprintf(again, sizeof(again), "Node %d, zone %8s", z->node, z->name);
			if (strcmp(again, line))
				ZI_FAIL("'%.160s' is not \"Node %%d, zone %%8s\"", line);
			continue;
		}
		if (!z)
			ZI_FAIL("'%.160s' before the first zone", line);
		if (mmlab_match("^  pages free +[0-9]+$", line)) {
			ZI_ONCE(F_FREE);
			sscanf(line, "  pages free %" SCNu64, &z->free);
			continue;
		}
		if (mmlab_match("^  pagesets$", line)) {
			ZI_ONCE(F_PAGESETS);
			continue;
		}
		if (mmlab_match("^  start_pfn: +[0-9]+$", line)) {
			ZI_ONCE(F_START);
			sscanf(line, "  start_pfn: %" SCNu64, &z->start_pfn);
			continue;
		}
		if (mmlab_match("^ +protection: \\([0-9]+(, [0-9]+)*\\)$", line)) {
			ZI_ONCE(F_PROT);
			q = strchr(line, '(') + 1;
			while (*q && *q != ')') {
				if (z->nprot == MMLAB_MAX_ZONES)
					ZI_FAIL("zone %s: too many protection entries", z->name);
				z->protection[z->nprot++] = strtoull(q, &q, 10);
				while (*q == ',' || *q == ' ')
					q++;
			}
			continue;
		}
		if (mmlab_match("^ +cpu: +[0-9]+$", line)) {
			if (!(seen & (1u << F_PAGESETS)) || (seen & (1u << F_START)))
				ZI_FAIL("zone %s: '%.100s' outside pagesets", z->name, line);
			if (p && pseen != 7)
				ZI_FAIL("zone %s cpu %u lacks count/high/batch", z->name, p->cpu);
			if (z->ncpus == MMLAB_MAX_CPUS)
				ZI_FAIL("zone %s: more than %d CPUs", z->name, MMLAB_MAX_CPUS);
			p = &z->pcp[z->ncpus++];
			pseen = 0;
			sscanf(line, " cpu: %u", &p->cpu);
			continue;
		}
		if (mmlab_match("^ +[a-z_]+: +[0-9]+$", line)) {
			if (!p || (seen & (1u << F_START)))
				ZI_FAIL("zone %s: '%.100s' outside a pageset", z->name, line);
			sscanf(line, " %63[a-z_]: %" SCNu64, key, &v);
			for (i = 0; i < 3; i++) {
				static const char *const pk[] = { "count", "high", "batch" };

				if (strcmp(key, pk[i]))
					continue;
				if (pseen & (1u << i))
					ZI_FAIL("zone %s cpu %u: %s twice", z->name, p->cpu, key);
				pseen |= 1u << i;
				*(i == 0 ? &p->count : i == 1 ? &p->high : &p->batch) = v;
			}
			continue;
		}
		if (mmlab_match("^ +[a-z_][a-z0-9_]* +[0-9]+$", line)) {
			if (seen & (1u << F_PAGESETS))
				ZI_FAIL("zone %s: '%.100s' inside pagesets", z->name, line);
			if (sscanf(line, " %63s %" SCNu64 "%n", key, &v, &off) != 2)
				ZI_FAIL("cannot parse '%.160s'", line);
			for (i = 0; i < 6; i++) {
				uint64_t *const dst[] = { &z->min, &z->low, &z->high, &z->spanned,
							  &z->present, &z->managed };

				if (strcmp(key, wm[i]))
					continue;
				ZI_ONCE(F_MIN + i);
				*dst[i] = v;
				break;
			}
			if (i < 6)
				continue;
			if (z->nkeys < MMLAB_MAX_KEYS && strlen(key) < sizeof(z->kv[0].key)) {
				strcpy(z->kv[z->nkeys].key, key);
				z->kv[z->nkeys++].val = v;
			}
			continue;
		}
		ZI_FAIL("zone %s: unexpected line '%.160s'", z->name, line);
	}
	if (r < 0)
		ZI_FAIL("overlong or unterminated line");
	ZI_ZONE_DONE();
	if (!zi->nzones)
		ZI_FAIL("no zones");
	for (i = 0; i < zi->nzones; i++)
		if (!zi->z[i].ncpus)
			ZI_FAIL("zone %s has no pagesets", zi->z[i].name);
	return 0;
#undef ZI_ONCE
#undef ZI_ZONE_DONE
#undef ZI_FAIL
}

static inline int mmlab_read_zoneinfo(struct mmlab_zoneinfo *zi, char *why, size_t whycap)
{
	char *buf = mmlab_read_view("zoneinfo", why, whycap);
	int ret;

	if (!buf)
		return -1;
	ret = mmlab_parse_zoneinfo(buf, zi, why, whycap);
	free(buf);
	return ret;
}

/* The zone called name on node 0, or NULL. */
static inline struct mmlab_zi_zone *mmlab_zi_zone(struct mmlab_zoneinfo *zi,
						  const char *name)
{
	unsigned int i;

	for (i = 0; i < zi->nzones; i++)
		if (zi->z[i].node == 0 && !strcmp(zi->z[i].name, name))
			return &zi->z[i];
	return NULL;
}

/* A counter line of a zone ("nr_alloc_fallback 3"): 0 and *v, or -1. */
static inline int mmlab_zi_get(const struct mmlab_zi_zone *z, const char *key, uint64_t *v)
{
	unsigned int i;

	for (i = 0; i < z->nkeys; i++) {
		if (!strcmp(z->kv[i].key, key)) {
			*v = z->kv[i].val;
			return 0;
		}
	}
	return -1;
}

/* Pages on the per-CPU lists of a zone, all CPUs. */
static inline uint64_t mmlab_zi_pcp_pages(const struct mmlab_zi_zone *z)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < z->ncpus; i++)
		sum += z->pcp[i].count;
	return sum;
}

/* --- the kernel log -------------------------------------------------------- */

/* /dev/kmsg positioned at its end, so that later reads see only new records. */
static inline int mmlab_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/*
 * Append the messages of every record logged since the last call to buf
 * (one line per record: its text, without the "prio,seq,usec,flags;"
 * prefix or continuation lines). Returns the length of buf.
 */
static inline size_t mmlab_kmsg_read(int fd, char *buf, size_t cap)
{
	size_t len = strlen(buf);
	char rec[2048], *msg, *nl;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (len + strlen(msg) + 2 < cap)
			len += snprintf(buf + len, cap - len, "%s\n", msg);
	}
	return len;
}

/* --- control -------------------------------------------------------------- */

static inline int mmlab_ctl_open(void)
{
	char path[512];
	int fd;

	mmlab_path(path, sizeof(path), "control");
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Write len bytes to the control file in a single write(), then read the
 * result of that command back on the same descriptor (trailing newline
 * stripped, always NUL-terminated). Returns 0 if the write succeeded, -errno
 * if it failed, and -EIO for a short write (the interface takes all or nothing).
 */
static inline int mmlab_ctl_write(int fd, const void *cmd, size_t len,
				  char *res, size_t cap)
{
	ssize_t n = write(fd, cmd, len);
	int ret = 0;
	size_t got = 0;

	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	/* The control file is a stream; seeking is harmless if it fails. */
	(void)lseek(fd, 0, SEEK_SET);
	while (got + 1 < cap) {
		n = read(fd, res + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	res[got] = '\0';
	while (got && (res[got - 1] == '\n'))
		res[--got] = '\0';
	return ret;
}

/* printf-style command; a newline is appended. */
static inline int __attribute__((format(printf, 4, 5)))
mmlab_ctl(int fd, char *res, size_t cap, const char *fmt, ...)
{
	char cmd[MMLAB_RESULT_MAX];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(cmd) - 1)
		return -E2BIG;
	cmd[len++] = '\n';
	return mmlab_ctl_write(fd, cmd, len, res, cap);
}

struct mmlab_block {
	uint64_t handle;
	unsigned int order;
	uint64_t pfn;
	char zone[16];		/* "DMA32" or "Normal" */
};

/* Parse "handle H order N pfn 0xPFN zone Z" exactly. 0 or -1. */
static inline int mmlab_parse_alloc(const char *res, struct mmlab_block *b)
{
	char again[128];
	int n = -1;

	if (!mmlab_match("^handle [1-9][0-9]* order [0-9]+ pfn 0x[0-9a-f]+ zone (DMA32|Normal)$", res))
		return -1;
	if (sscanf(res, "handle %" SCNu64 " order %u pfn 0x%" SCNx64 " zone %15s%n",
		   &b->handle, &b->order, &b->pfn, b->zone, &n) != 4 || res[n])
		return -1;
	snprintf(again, sizeof(again), "handle %" PRIu64 " order %u pfn 0x%" PRIx64 " zone %s",
		 b->handle, b->order, b->pfn, b->zone);
	return strcmp(again, res) ? -1 : 0;
}

/* Does the block lie in the physical range its zone promises? */
static inline int mmlab_block_in_zone(const struct mmlab_block *b)
{
	uint64_t last = b->pfn + (1ull << b->order) - 1;

	if (!strcmp(b->zone, "DMA32"))
		return last < MMLAB_PFN_4G;
	if (!strcmp(b->zone, "Normal"))
		return b->pfn >= MMLAB_PFN_4G;
	return 0;
}

/* "alloc order=N [ARGS]": 0 and *b filled, or -errno. */
static inline int mmlab_alloc_args(int fd, unsigned int order, const char *args,
				   struct mmlab_block *b, char *res, size_t cap)
{
	int ret = mmlab_ctl(fd, res, cap, "alloc order=%u%s%s", order,
			    args && *args ? " " : "", args ? args : "");

	if (ret)
		return ret;
	if (mmlab_parse_alloc(res, b) || b->order != order)
		return -EBADMSG;
	return 0;
}

/* "alloc order=N": 0 and *b filled, or -errno. */
static inline int mmlab_alloc(int fd, unsigned int order, struct mmlab_block *b,
			      char *res, size_t cap)
{
	int ret = mmlab_ctl(fd, res, cap, "alloc order=%u", order);

	if (ret)
		return ret;
	if (mmlab_parse_alloc(res, b) || b->order != order)
		return -EBADMSG;
	return 0;
}

/* Result of a command as a number: "freed 3 handles" -> 3 with prefix
 * "freed ", suffix " handles". -1 if the text is not exactly that. */
static inline int64_t mmlab_result_num(const char *res, const char *prefix,
				       const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), rl = strlen(res);
	char *end;
	uint64_t v;

	if (rl <= pl + sl || strncmp(res, prefix, pl) || strcmp(res + rl - sl, suffix))
		return -1;
	if (res[pl] < '0' || res[pl] > '9')
		return -1;
	errno = 0;
	v = strtoull(res + pl, &end, 10);
	if (errno || end != res + rl - sl)
		return -1;
	return (int64_t)v;
}

/*
 * Bring the allocator back to nothing borrowed and default tunables: free
 * every control handle, release the pressure pool, put the per-CPU list
 * sizes back, drain the lists and return the free chunks to the host.
 * 0, or -errno with the failing command in res.
 */
static inline int mmlab_clean(int fd, char *res, size_t cap)
{
	static const char *const cmds[] = { "free_all", "pressure release=all", "pcp default",
					    "drain", "shrink" };
	char out[MMLAB_RESULT_MAX], why[256];
	struct mmlab_stats s;
	unsigned int i, tries;
	int ret;

	/*
	 * mmlab_kswapd may still be finishing a pass started by the last test
	 * (borrowing up to a high watermark): retry drain + shrink for up to
	 * two seconds until nothing is borrowed.
	 */
	for (tries = 0; tries < 50; tries++) {
		/* Retries only drain and shrink again (from cmds[3] on). */
		for (i = tries ? 3 : 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			ret = mmlab_ctl(fd, out, sizeof(out), "%s", cmds[i]);
			if (ret) {
				snprintf(res, cap, "%s: %s (%.200s)", cmds[i], strerror(-ret), out);
				return ret;
			}
		}
		if (mmlab_read_stats(&s, why, sizeof(why))) {
			snprintf(res, cap, "stats: %s", why);
			return -EBADMSG;
		}
		if (!s.host_chunks)
			break;
		usleep(20 * 1000);
	}
	snprintf(res, cap, "%s", out);
	return 0;
}

/* Number of possible CPUs (/sys/devices/system/cpu/possible), or -1. */
static inline int mmlab_possible_cpus(void)
{
	char buf[256], *p;
	int fd, n = 0;
	ssize_t len;
	long a, b;

	fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	for (p = buf; *p && *p != '\n';) {
		a = strtol(p, &p, 10);
		b = a;
		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		n += b - a + 1;
		if (*p == ',')
			p++;
		else
			break;
	}
	return n;
}

/*
 * Wait (at most about three seconds) until mmlab_kswapd is not borrowing:
 * the host_chunks_borrowed and host_chunks_returned counters unchanged over
 * ten reads 20 ms apart (under TCG on a loaded machine the thread may take
 * a while even to start). Tests that compare two views call this first.
 */
static inline void mmlab_settle(void)
{
	uint64_t last_b = ~0ull, last_r = ~0ull;
	unsigned int same = 0, i;
	struct mmlab_stats s;
	char why[256];

	for (i = 0; i < 150 && same < 10; i++) {
		if (mmlab_read_stats(&s, why, sizeof(why)))
			return;
		if (s.host_chunks_borrowed == last_b && s.host_chunks_returned == last_r) {
			same++;
		} else {
			same = 0;
			last_b = s.host_chunks_borrowed;
			last_r = s.host_chunks_returned;
		}
		usleep(20 * 1000);
	}
}

/* Does this machine (the guest) have memory in its own ZONE_NORMAL? */
static inline int mmlab_host_has_normal(void)
{
	char *buf = malloc(MMLAB_VIEW_MAX), *p;
	unsigned long present = 0;
	ssize_t n;
	int fd;

	if (!buf)
		return 0;
	fd = open("/proc/zoneinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return 0;
	}
	n = read(fd, buf, MMLAB_VIEW_MAX - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strstr(buf, "zone   Normal\n");
	if (p)
		p = strstr(p, "present");
	if (p)
		present = strtoul(p + strlen("present"), NULL, 10);
	free(buf);
	return present > 0;
}

/* --- harness glue ---------------------------------------------------------- */

#ifdef TEST_HARNESS_MAIN	/* kselftest_harness.h was included first */

/*
 * The common fixture: one control descriptor, and a clean allocator around
 * every test (mmlab_clean() before; mmlab_clean() + check after), so tests
 * do not depend on each other or on their order.
 */
FIXTURE(mmlab) {
	int fd;
	char res[MMLAB_RESULT_MAX];
	char why[512];
	struct mmlab_stats st;		/* after setup */
};

FIXTURE_SETUP(mmlab)
{
	int ret;

	self->fd = mmlab_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s/control: %s", mmlab_dir(),
				      strerror(-self->fd));
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("setup: %s", self->res);
	ASSERT_EQ(0, mmlab_read_stats(&self->st, self->why, sizeof(self->why)))
		TH_LOG("stats: %s", self->why);
}

/* EXPECT only: an ASSERT here would jump back into the test wrapper. */
FIXTURE_TEARDOWN(mmlab)
{
	int ret;

	/*
	 * A failed ASSERT in the test leaves the harness's 'trigger' set (it
	 * longjmp()s out of the loop that would clear it), which would make
	 * the first passing EXPECT below print its message anyway.
	 */
	_metadata->trigger = 0;
	if (self->fd < 0)
		return;
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	EXPECT_EQ(0, ret) TH_LOG("teardown: %s", self->res);
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "check");
	EXPECT_EQ(0, ret) TH_LOG("teardown check: %s (%s)", strerror(-ret), self->res);
	EXPECT_STREQ("ok", self->res);
	close(self->fd);
}

/* Shorthands inside TEST_F bodies. */
/* Order o, or chunk_order if that is smaller (module loaded with a small chunk_order). */
#define ORD(o)		((o) > self->st.chunk_order ? (unsigned int)self->st.chunk_order : (unsigned int)(o))
#define CTL(...)	mmlab_ctl(self->fd, self->res, sizeof(self->res), __VA_ARGS__)
#define STATS(s)	ASSERT_EQ(0, mmlab_read_stats((s), self->why, sizeof(self->why))) \
				TH_LOG("stats: %s", self->why)
#define ZONEINFO(zi)	ASSERT_EQ(0, mmlab_read_zoneinfo((zi), self->why, sizeof(self->why))) \
				TH_LOG("zoneinfo: %s", self->why)
#define BUDDYINFO(bi)	ASSERT_EQ(0, mmlab_read_buddyinfo(self->st.chunk_order + 1, (bi), \
							  self->why, sizeof(self->why))) \
				TH_LOG("buddyinfo: %s", self->why)

/*
 * main(): without the debugfs directory there is nothing to test (the module
 * is not loaded): report a skip, as kselftests do for a missing feature.
 */
#define MMLAB_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		if (access(mmlab_dir(), F_OK)) {			\
			ksft_print_header();				\
			ksft_exit_skip("%s: %s (is mmlab.ko loaded?)\n",	\
				       mmlab_dir(), strerror(errno));	\
		}							\
		return test_harness_run(argc, argv);			\
	}

#endif /* TEST_HARNESS_MAIN */

#endif /* MMLAB_SELFTEST_HELPERS_H */
