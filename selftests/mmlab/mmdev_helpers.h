/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmdev_helpers.h - shared pieces of the /dev/mmlab kselftests (mmdev*.c):
 * the region ioctls, touching pages while catching SIGBUS/SIGSEGV, the
 * overcommit files, the `regions` and `faults/<id>` views, the module's
 * refcount, and the `mmdev` fixture.
 *
 * Include after kselftest_harness.h and mmlab_helpers.h.
 */
#ifndef MMLAB_SELFTEST_MMDEV_HELPERS_H
#define MMLAB_SELFTEST_MMDEV_HELPERS_H

#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../../include/mmlab/mmdev.h"

#define PAGE		4096ul
#define MMDEV_PATH	"/dev/mmlab"

static inline int mmdev_open(void)
{
	return open(MMDEV_PATH, O_RDWR | O_CLOEXEC);
}

static inline int mmdev_stats(int fd, struct mmlab_mmdev_stats *s)
{
	memset(s, 0xa5, sizeof(*s));
	return ioctl(fd, MMLAB_IOC_STATS, s);
}

static inline int mmdev_set_size(int fd, uint64_t bytes)
{
	return ioctl(fd, MMLAB_IOC_SET_SIZE, &bytes);
}

static inline int mmdev_punch(int fd, uint64_t offset, uint64_t len)
{
	struct mmlab_mmdev_range r = { .offset = offset, .len = len };

	return ioctl(fd, MMLAB_IOC_PUNCH, &r);
}

static inline int mmdev_name(int fd, const char *name)
{
	struct mmlab_mmdev_name n;

	memset(&n, 0, sizeof(n));
	/* no NUL if 32 characters or more: on purpose */
	memcpy(n.name, name, strnlen(name, sizeof(n.name)));
	return ioctl(fd, MMLAB_IOC_NAME, &n);
}

static inline int mmdev_attach(int fd, const char *name)
{
	struct mmlab_mmdev_name n;

	memset(&n, 0, sizeof(n));
	memcpy(n.name, name, strnlen(name, sizeof(n.name)));
	return ioctl(fd, MMLAB_IOC_ATTACH, &n);
}

/* A "key value" line of debugfs stats, or ~0 if unreadable or absent. */
static inline uint64_t mmdev_stat(const char *key)
{
	struct mmlab_stats s;
	char why[256];
	uint64_t v = ~0ull;

	if (!mmlab_read_stats(&s, why, sizeof(why)))
		mmlab_stats_get(&s, key, &v);
	return v;
}

static inline uint64_t mmdev_used(void)
{
	return mmdev_stat("used_pages");
}

/* Poll (up to ms milliseconds) until stats key equals want; its last value. */
static inline uint64_t mmdev_wait_stat(const char *key, uint64_t want, unsigned int ms)
{
	uint64_t v = mmdev_stat(key);

	while (v != want && ms >= 10) {
		usleep(10 * 1000);
		ms -= 10;
		v = mmdev_stat(key);
	}
	return v;
}

/* /sys/module/mmlab/refcnt, or -1. */
static inline long mmdev_module_refcnt(void)
{
	char buf[32];
	ssize_t n;
	int fd = open("/sys/module/mmlab/refcnt", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * The module refcount once it equals want, or its value after ms: a closed
 * region's pages go back (used_pages drops) just before the reaper drops
 * the region's module reference.
 */
static inline long mmdev_wait_refcnt(long want, int ms)
{
	long v = mmdev_module_refcnt();

	for (; v != want && ms > 0; ms -= 10) {
		usleep(10000);
		v = mmdev_module_refcnt();
	}
	return v;
}

/* --- touching pages and catching the signal ---------------------------------- */

static __thread sigjmp_buf mmdev_jb;
static __thread volatile sig_atomic_t mmdev_armed;

static void mmdev_on_fault_signal(int sig)
{
	if (mmdev_armed) {
		mmdev_armed = 0;
		siglongjmp(mmdev_jb, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void mmdev_catch_fault_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mmdev_on_fault_signal;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * Touch the first byte of npages pages, every stride pages from p: write v
 * (write != 0) or read it. Returns how many pages were touched before a
 * SIGBUS or SIGSEGV, with the signal in *sig (0 if none).
 */
static inline size_t mmdev_touch(volatile unsigned char *p, size_t npages, size_t stride,
				 int write, unsigned char v, int *sig)
{
	volatile size_t i = 0;
	int s;

	mmdev_catch_fault_signals();
	s = sigsetjmp(mmdev_jb, 1);
	if (s == 0) {
		mmdev_armed = 1;
		for (; i < npages; i++) {
			if (write)
				p[i * stride * PAGE] = v;
			else
				(void)p[i * stride * PAGE];
		}
		mmdev_armed = 0;
	}
	*sig = s;
	return i;
}

/* One access: 0, SIGBUS or SIGSEGV. */
static inline int mmdev_try_write(volatile unsigned char *p, unsigned char v)
{
	int sig;

	mmdev_touch(p, 1, 1, 1, v, &sig);
	return sig;
}

static inline int mmdev_try_read(volatile unsigned char *p)
{
	int sig;

	mmdev_touch(p, 1, 1, 0, 0, &sig);
	return sig;
}

/* A byte that depends on the page and the offset: finds misplaced pages. */
static inline unsigned char mmdev_pattern(size_t page, size_t off, unsigned int seed)
{
	return (unsigned char)(page * 131 + off * 7 + seed * 29 + 1);
}

static inline void mmdev_fill(unsigned char *p, size_t npages, unsigned int seed)
{
	size_t pg, off;

	for (pg = 0; pg < npages; pg++)
		for (off = 0; off < PAGE; off += 64)
			p[pg * PAGE + off] = mmdev_pattern(pg, off, seed);
}

/* The first page whose pattern is wrong, or npages. */
static inline size_t mmdev_check(const unsigned char *p, size_t npages, unsigned int seed)
{
	size_t pg, off;

	for (pg = 0; pg < npages; pg++)
		for (off = 0; off < PAGE; off += 64)
			if (p[pg * PAGE + off] != mmdev_pattern(pg, off, seed))
				return pg;
	return npages;
}

/* The first page with a non-zero byte, or npages. */
static inline size_t mmdev_check_zero(const unsigned char *p, size_t npages)
{
	size_t pg, off;

	for (pg = 0; pg < npages; pg++)
		for (off = 0; off < PAGE; off += sizeof(uint64_t))
			if (*(const uint64_t *)(p + pg * PAGE + off))
				return pg;
	return npages;
}

/* --- overcommit files -------------------------------------------------------- */

/* Write text to a debugfs file of mmlab in one write(): 0 or -errno. */
static inline int mmdev_debugfs_write(const char *name, const char *text)
{
	char path[512];
	ssize_t n;
	int fd, err = 0;

	mmlab_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(text))
		err = -EIO;
	close(fd);
	return err;
}

/* A debugfs file holding one number and a newline: 0 and *v, or -1. */
static inline int mmdev_debugfs_num(const char *name, uint64_t *v)
{
	char buf[64], *end;
	ssize_t n = mmlab_read_file(name, buf, sizeof(buf));

	if (n <= 1 || buf[n - 1] != '\n' || buf[0] < '0' || buf[0] > '9')
		return -1;
	*v = strtoull(buf, &end, 10);
	return *end == '\n' && end == buf + n - 1 ? 0 : -1;
}

static inline int mmdev_set_overcommit(unsigned int mode)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u\n", mode);
	return mmdev_debugfs_write("overcommit_memory", buf);
}

static inline int mmdev_set_ratio(unsigned int ratio)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u\n", ratio);
	return mmdev_debugfs_write("overcommit_ratio", buf);
}

/* --- the regions view ----------------------------------------------------------- */

struct mmdev_region_row {
	uint64_t id;
	long pid;
	char name[MMLAB_REGION_NAME_MAX + 1];
	uint64_t size, resident, busy, committed, mappings, files;
	uint64_t faults, alloc_faults, fault_failures;
};

/*
 * Read `regions` strictly: the first line starts with "# id", every other
 * line has exactly the 12 fields. Fills the row of region id; returns 1
 * if found, 0 if not, -1 with the reason in why if the view is malformed.
 * *nrows (if given) gets the number of region lines.
 */
static inline int mmdev_regions_find(uint64_t id, struct mmdev_region_row *row,
				     unsigned int *nrows, char *why, size_t whycap)
{
	char *buf = mmlab_read_view("regions", why, whycap);
	const char *text = buf;
	char line[512];
	struct mmdev_region_row r;
	int n, found = 0, first = 1, ret;
	unsigned int rows = 0;

	if (!buf)
		return -1;
	while ((ret = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		if (first) {
			first = 0;
			if (strncmp(line, "# id", 4)) {
				snprintf(why, whycap, "header '%.100s' does not start with '# id'", line);
				free(buf);
				return -1;
			}
			continue;
		}
		memset(&r, 0, sizeof(r));
		n = -1;
		if (!mmlab_match("^ *[0-9]+ +[0-9]+ +[A-Za-z0-9_.-]{1,31} +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ *$", line) ||
		    sscanf(line, "%" SCNu64 " %ld %32s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 "%n",
			   &r.id, &r.pid, r.name, &r.size, &r.resident, &r.busy, &r.committed,
			   &r.mappings, &r.files, &r.faults, &r.alloc_faults, &r.fault_failures,
			   &n) != 12) {
			snprintf(why, whycap, "bad regions line '%.200s'", line);
			free(buf);
			return -1;
		}
		rows++;
		if (r.id == id) {
			if (found) {
				snprintf(why, whycap, "region %" PRIu64 " listed twice", id);
				free(buf);
				return -1;
			}
			found = 1;
			if (row)
				*row = r;
		}
	}
	free(buf);
	if (ret < 0 || first) {
		snprintf(why, whycap, first ? "empty view (no header)" : "overlong or unterminated line");
		return -1;
	}
	if (nrows)
		*nrows = rows;
	return found;
}

/* --- the fault log --------------------------------------------------------------- */

struct mmdev_fault_rec {
	uint64_t seq;
	long pid;
	uint64_t address, pgoff, pfn;
	char zone[8];
	unsigned int order, alloc;
	uint64_t latency_ns;
};

#define MMDEV_LOG_MAX	256

/*
 * Read faults/<id> strictly into recs (up to MMDEV_LOG_MAX): "# seq" header,
 * then "seq pid 0xaddress pgoff 0xpfn DMA32|Normal order alloc latency_ns"
 * (zone "-" and pfn 0 for a fault that found no page).
 * Returns the number of records, or -1 with the reason in why.
 */
static inline int mmdev_fault_log(uint64_t id, struct mmdev_fault_rec *recs, char *why,
				  size_t whycap)
{
	char name[64], line[512];
	char *buf;
	const char *text;
	int n = 0, first = 1, ret;

	snprintf(name, sizeof(name), "faults/%" PRIu64, id);
	buf = mmlab_read_view(name, why, whycap);
	if (!buf)
		return -1;
	text = buf;
	while ((ret = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		struct mmdev_fault_rec *r = &recs[n];

		if (first) {
			first = 0;
			if (strncmp(line, "# seq", 5)) {
				snprintf(why, whycap, "header '%.100s' does not start with '# seq'", line);
				goto bad;
			}
			continue;
		}
		if (n == MMDEV_LOG_MAX) {
			snprintf(why, whycap, "more than %d records", MMDEV_LOG_MAX);
			goto bad;
		}
		if (!mmlab_match("^ *[0-9]+ +[0-9]+ +0x[0-9a-f]+ +[0-9]+ +0x[0-9a-f]+ +(DMA32|Normal|-) +[0-9]+ +[01] +[0-9]+ *$", line) ||
		    sscanf(line, "%" SCNu64 " %ld 0x%" SCNx64 " %" SCNu64 " 0x%" SCNx64 " %7s %u %u %" SCNu64,
			   &r->seq, &r->pid, &r->address, &r->pgoff, &r->pfn, r->zone, &r->order,
			   &r->alloc, &r->latency_ns) != 9) {
			snprintf(why, whycap, "bad fault record '%.200s'", line);
			goto bad;
		}
		n++;
	}
	if (ret < 0 || first) {
		snprintf(why, whycap, first ? "empty view (no header)" : "overlong or unterminated line");
		goto bad;
	}
	free(buf);
	return n;
bad:
	free(buf);
	return -1;
}

/* --- the kernel log ------------------------------------------------------------ */

/* The first line of buf naming a page-state or kernel bug, or NULL. */
static inline const char *mmdev_kmsg_bad(const char *buf)
{
	static const char *const bad[] = { "Bad page", "BUG:", "WARNING:", "bad state",
					   "kernel BUG", "Oops", "page dumped because" };
	const char *hit = NULL, *h;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = strstr(buf, bad[i]);
		if (h && (!hit || h < hit))
			hit = h;
	}
	if (!hit)
		return NULL;
	while (hit > buf && hit[-1] != '\n')
		hit--;
	return hit;
}

/* --- the fixture ------------------------------------------------------------------ */

#ifdef TEST_HARNESS_MAIN

/*
 * The mmlab fixture plus: overcommit back to mode 0 / ratio 50 before and
 * after every test, and no page-state report or kernel bug in the log
 * while the test ran.
 */
FIXTURE(mmdev) {
	int fd;
	char res[MMLAB_RESULT_MAX];
	char why[512];
	struct mmlab_stats st;		/* after setup */
	int kmsg;
	long refcnt;			/* module refcount after setup */
	uint64_t used0;			/* used_pages after setup */
	uint64_t committed0;		/* committed_pages after setup */
};

static inline void mmdev_defaults(void)
{
	mmdev_set_overcommit(0);
	mmdev_set_ratio(50);
}

FIXTURE_SETUP(mmdev)
{
	int ret;

	self->kmsg = mmlab_kmsg_open();
	mmdev_defaults();
	self->fd = mmlab_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s/control: %s", mmlab_dir(),
				      strerror(-self->fd));
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("setup: %s", self->res);
	ASSERT_EQ(0, mmlab_read_stats(&self->st, self->why, sizeof(self->why)))
		TH_LOG("stats: %s", self->why);
	self->used0 = self->st.used_pages;
	self->committed0 = mmdev_stat("committed_pages");
	self->refcnt = mmdev_module_refcnt();
}

FIXTURE_TEARDOWN(mmdev)
{
	char log[16384] = "";
	const char *bad;
	int ret;

	_metadata->trigger = 0;
	mmdev_defaults();
	if (self->fd < 0)
		return;
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	EXPECT_EQ(0, ret) TH_LOG("teardown: %s", self->res);
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "check");
	EXPECT_EQ(0, ret) TH_LOG("teardown check: %s (%s)", strerror(-ret), self->res);
	EXPECT_STREQ("ok", self->res);
	close(self->fd);
	if (self->kmsg >= 0) {
		mmlab_kmsg_read(self->kmsg, log, sizeof(log));
		bad = mmdev_kmsg_bad(log);
		EXPECT_TRUE(bad == NULL) TH_LOG("kernel log: %.300s", bad);
		close(self->kmsg);
	}
}

#endif /* TEST_HARNESS_MAIN */

#endif /* MMLAB_SELFTEST_MMDEV_HELPERS_H */
