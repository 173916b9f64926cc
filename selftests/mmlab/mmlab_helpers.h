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

/* Does the whole of s match the extended regex re? */
static inline int mmlab_match(const char *re, const char *s)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
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
	unsigned int norders;		/* rows in the per-order table */
	uint64_t allocs[MMLAB_MAX_ORDERS];
	uint64_t frees[MMLAB_MAX_ORDERS];
	uint64_t failures[MMLAB_MAX_ORDERS];
};

#define MMLAB_STATS_KEYS(X) \
	X(chunk_order) X(capacity_pages) X(host_chunks) X(host_pages) \
	X(host_chunks_borrowed) X(host_chunks_returned) X(free_pages) \
	X(used_pages) X(control_handles)

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

static inline int mmlab_read_stats(struct mmlab_stats *s, char *why, size_t whycap)
{
	char *buf = malloc(MMLAB_VIEW_MAX);
	ssize_t n;
	int ret;

	if (!buf) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	n = mmlab_read_file("stats", buf, MMLAB_VIEW_MAX);
	if (n < 0) {
		snprintf(why, whycap, "read stats: %s", strerror(-n));
		free(buf);
		return -1;
	}
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

/* The Normal zone of node 0, or NULL. */
static inline const struct mmlab_zone_row *mmlab_normal(const struct mmlab_buddyinfo *bi)
{
	unsigned int i;

	for (i = 0; i < bi->nzones; i++)
		if (bi->z[i].node == 0 && !strcmp(bi->z[i].zone, "Normal"))
			return &bi->z[i];
	return NULL;
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
};

/* Parse "handle H order N pfn 0xPFN" exactly. 0 or -1. */
static inline int mmlab_parse_alloc(const char *res, struct mmlab_block *b)
{
	char again[128];
	int n = -1;

	if (!mmlab_match("^handle [1-9][0-9]* order [0-9]+ pfn 0x[0-9a-f]+$", res))
		return -1;
	if (sscanf(res, "handle %" SCNu64 " order %u pfn 0x%" SCNx64 "%n",
		   &b->handle, &b->order, &b->pfn, &n) != 3 || res[n])
		return -1;
	snprintf(again, sizeof(again), "handle %" PRIu64 " order %u pfn 0x%" PRIx64,
		 b->handle, b->order, b->pfn);
	return strcmp(again, res) ? -1 : 0;
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

/* --- harness glue ---------------------------------------------------------- */

#ifdef TEST_HARNESS_MAIN	/* kselftest_harness.h was included first */

/*
 * The common fixture: one control descriptor, and a clean allocator around
 * every test (free_all + shrink before; free_all + shrink + check after), so
 * tests do not depend on each other or on their order.
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
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "free_all");
	ASSERT_EQ(0, ret) TH_LOG("free_all: %s (%s)", strerror(-ret), self->res);
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "shrink");
	ASSERT_EQ(0, ret) TH_LOG("shrink: %s (%s)", strerror(-ret), self->res);
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
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "free_all");
	EXPECT_EQ(0, ret) TH_LOG("teardown free_all: %s (%s)", strerror(-ret), self->res);
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "shrink");
	EXPECT_EQ(0, ret) TH_LOG("teardown shrink: %s (%s)", strerror(-ret), self->res);
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
