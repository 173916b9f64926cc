// SPDX-License-Identifier: GPL-2.0
/*
 * pagemap - debugfs pagemap and explain (docs/pagemap.md): the page map's
 * format and its counts against buddyinfo and stats, explain for control
 * handles and objects, kernel addresses, addresses in the caller's own
 * /dev/mmlab mapping and bad input, and the VM's mmlab-slabtop listing a
 * cache this test made.
 */
#include "kselftest_harness.h"
#include <sys/mman.h>
#include <sys/wait.h>

#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

#define MAP_MAX		(8 << 20)
#define ANSWER_MAX	4096

static int file_mode(const char *name)
{
	char path[512];
	struct stat st;

	mmlab_path(path, sizeof(path), name);
	if (stat(path, &st))
		return -errno;
	return st.st_mode & 07777;
}

/* --- explain ------------------------------------------------------------------------ */

static int explain_open(void)
{
	char path[512];
	int fd;

	mmlab_path(path, sizeof(path), "explain");
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One query on fd (written as given); the answer read back. 0 or -errno. */
static int explain_on(int fd, const char *query, char *answer, size_t cap)
{
	ssize_t n = write(fd, query, strlen(query));
	int ret = n < 0 ? -errno : 0;
	size_t got = 0;

	while (got + 1 < cap) {
		n = read(fd, answer + got, cap - 1 - got);
		if (n <= 0)
			break;
		got += n;
	}
	answer[got] = '\0';
	return ret;
}

static int explain(const char *query, char *answer, size_t cap)
{
	int fd = explain_open(), ret;

	if (fd < 0) {
		snprintf(answer, cap, "open explain: %s", strerror(-fd));
		return fd;
	}
	ret = explain_on(fd, query, answer, cap);
	close(fd);
	return ret;
}

/* The value of the first "key: value" line, copied into out ("" if none). */
static const char *key(const char *answer, const char *k, char *out, size_t cap)
{
	size_t klen = strlen(k);
	const char *p = answer, *nl;

	out[0] = '\0';
	while (p && *p) {
		nl = strchr(p, '\n');
		if (!strncmp(p, k, klen) && p[klen] == ':' && p[klen + 1] == ' ') {
			size_t len = (nl ? (size_t)(nl - p) : strlen(p)) - klen - 2;

			if (len >= cap)
				len = cap - 1;
			memcpy(out, p + klen + 2, len);
			out[len] = '\0';
			break;
		}
		p = nl ? nl + 1 : NULL;
	}
	return out;
}

/* --- the page map -------------------------------------------------------------------- */

struct pagemap {
	uint64_t header_pages;
	uint64_t chars[128];			/* pages per character */
	uint64_t zone_free[MMLAB_MAX_ZONES][12];	/* free pages per zone and order */
	char zones[MMLAB_MAX_ZONES][16];
	unsigned int nzones;
	uint64_t rows, chunks, slab_lines, slab_line_pages;
	int cache_seen;				/* a slab line names the cache asked for */
};

static int zone_index(struct pagemap *m, const char *name)
{
	unsigned int i;

	for (i = 0; i < m->nzones; i++)
		if (!strcmp(m->zones[i], name))
			return i;
	if (m->nzones == MMLAB_MAX_ZONES)
		return -1;
	snprintf(m->zones[m->nzones], sizeof(m->zones[0]), "%s", name);
	return m->nzones++;
}

/* Parses and checks the format strictly; 0, or -1 with the reason in why. */
static int parse_pagemap(const char *text, const char *cache, struct pagemap *m, char *why,
			 size_t whycap)
{
	static const char legal[] = "0123456789abpUAOKVMCRP";
	char line[256], zone[16] = "", row[80], pol[16], name[64];
	uint64_t expect_pfn = 0, left = 0, pfn, pages, n;
	unsigned long order, inuse, objects;
	int z = -1, len, r, end;
	const char *p = text;

	memset(m, 0, sizeof(*m));
	r = mmlab_next_line(&p, line, sizeof(line));
	if (r != 1 || sscanf(line, "# mmlab-pagemap v1 pages=%" SCNu64 " page_size=4096%n",
			     &m->header_pages, &end) != 1 || line[end]) {
		snprintf(why, whycap, "bad first line '%s'", line);
		return -1;
	}
	while ((r = mmlab_next_line(&p, line, sizeof(line))) == 1) {
		end = -1;
		if (line[0] == '#')
			continue;
		if (sscanf(line, "zone %15s chunk %" SCNu64 " pfn 0x%" SCNx64 " pages %" SCNu64 "%n",
			   zone, &n, &expect_pfn, &pages, &end) == 4 && !line[end]) {
			if (left) {
				snprintf(why, whycap, "chunk before '%s' incomplete", line);
				return -1;
			}
			left = pages;
			z = zone_index(m, zone);
			m->chunks++;
			continue;
		}
		if (sscanf(line, "slab 0x%" SCNx64 " order %lu policy %15s cache %63s inuse %lu "
			   "objects %lu%n", &pfn, &order, pol, name, &inuse, &objects, &end) == 6 &&
		    !line[end]) {
			m->slab_lines++;
			m->slab_line_pages += 1ull << order;
			if (cache && !strcmp(name, cache))
				m->cache_seen = 1;
			if (inuse > objects || (strcmp(pol, "slub") && strcmp(pol, "slab"))) {
				snprintf(why, whycap, "bad slab line '%s'", line);
				return -1;
			}
			continue;
		}
		if (sscanf(line, "0x%" SCNx64 " %79s%n", &pfn, row, &end) == 2 && !line[end]) {
			len = strlen(row);
			if (z < 0 || pfn != expect_pfn || len > 64 || (uint64_t)len > left ||
			    (len < 64 && (uint64_t)len != left)) {
				snprintf(why, whycap, "row '%s' out of place (pfn 0x%" PRIx64
					 " expected, %" PRIu64 " pages left)", line, expect_pfn, left);
				return -1;
			}
			for (int i = 0; i < len; i++) {
				char c = row[i];

				if (!strchr(legal, c)) {
					snprintf(why, whycap, "character '%c' in '%s'", c, line);
					return -1;
				}
				m->chars[(int)c]++;
				if (c >= '0' && c <= '9')
					m->zone_free[z][c - '0']++;
				else if (c == 'a' || c == 'b')
					m->zone_free[z][c - 'a' + 10]++;
			}
			expect_pfn += len;
			left -= len;
			m->rows++;
			continue;
		}
		snprintf(why, whycap, "unexpected line '%s'", line);
		return -1;
	}
	if (r < 0 || left) {
		snprintf(why, whycap, "the map ends in the middle of a line or chunk");
		return -1;
	}
	return 0;
}

static uint64_t map_pages(const struct pagemap *m)
{
	uint64_t n = 0;

	for (int i = 0; i < 128; i++)
		n += m->chars[i];
	return n;
}

static int read_pagemap(char *buf, size_t cap, char *why, size_t whycap)
{
	ssize_t n = mmlab_read_file("pagemap", buf, cap);

	if (n < 0)
		snprintf(why, whycap, "read pagemap: %s", strerror(-n));
	return n < 0 ? -1 : 0;
}

TEST_F(mmdev, files)
{
	EXPECT_EQ(0400, file_mode("pagemap"));
	EXPECT_EQ(0600, file_mode("explain"));
}

/*
 * With a bit of everything allocated, the characters add up to what
 * buddyinfo and stats say. The views are read around the map until two
 * readings agree (kswapd or another CPU's list may move a page meanwhile).
 */
TEST_F(mmdev, pagemap_counts)
{
	char *buf = malloc(MAP_MAX), *bi1 = NULL, *bi2 = NULL;
	struct mmlab_stats s1, s2;
	struct mmlab_buddyinfo bi;
	struct pagemap m;
	uint64_t slab_pages = 0, large = 0, cid;
	int tries, i, stable = 0;
	unsigned int o;

	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, CTL("alloc order=%u", ORD(3))) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("pressure consume=4")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_create name=pm_count size=200")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %" SCNu64, &cid));
	for (i = 0; i < 30; i++)
		ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, cid)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("vmalloc size=5000")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("kmalloc size=20000")) TH_LOG("%s", self->res);

	for (tries = 0; tries < 10 && !stable; tries++) {
		free(bi1);
		free(bi2);
		STATS(&s1);
		bi1 = mmlab_read_view("buddyinfo", self->why, sizeof(self->why));
		ASSERT_EQ(0, read_pagemap(buf, MAP_MAX, self->why, sizeof(self->why)))
			TH_LOG("%s", self->why);
		bi2 = mmlab_read_view("buddyinfo", self->why, sizeof(self->why));
		STATS(&s2);
		ASSERT_TRUE(bi1 && bi2);
		stable = s1.host_pages == s2.host_pages && s1.free_pages == s2.free_pages &&
			 s1.pcp_pages == s2.pcp_pages && !strcmp(bi1, bi2);
	}
	ASSERT_TRUE(stable) TH_LOG("the views kept changing");
	ASSERT_EQ(0, parse_pagemap(buf, "pm_count", &m, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(s1.host_pages, map_pages(&m));
	EXPECT_EQ(s1.host_pages, m.header_pages);
	EXPECT_EQ(s1.pcp_pages, m.chars['p']);
	EXPECT_EQ(1u << ORD(3), m.chars['C']);
	EXPECT_EQ(4, m.chars['R']);
	EXPECT_EQ(2, m.chars['V']);
	ASSERT_EQ(0, mmlab_stats_get(&s1, "kmalloc_large_pages", &large));
	EXPECT_EQ(large, m.chars['K']);
	EXPECT_LE(5, large);
	ASSERT_EQ(0, mmlab_stats_get(&s1, "slab_pages", &slab_pages));
	EXPECT_EQ(slab_pages, m.chars['U'] + m.chars['A'] + m.chars['O']);
	EXPECT_EQ(m.chars['U'] + m.chars['A'], m.slab_line_pages);
	EXPECT_TRUE(m.cache_seen) TH_LOG("no slab line names pm_count");
	EXPECT_LE(m.chunks, m.rows);

	/* Free pages per zone and order: a block of order o shows 2^o characters. */
	ASSERT_EQ(0, mmlab_parse_buddyinfo(bi1, self->st.chunk_order + 1, &bi, self->why,
					   sizeof(self->why))) TH_LOG("%s", self->why);
	for (i = 0; i < (int)bi.nzones; i++) {
		const struct mmlab_zone_row *zr = &bi.z[i];
		int z = -1;

		for (unsigned int k = 0; k < m.nzones; k++)
			if (!strcmp(m.zones[k], zr->zone))
				z = k;
		for (o = 0; o <= self->st.chunk_order && o < 12; o++) {
			uint64_t shown = z < 0 ? 0 : m.zone_free[z][o];

			EXPECT_EQ(zr->free[o] << o, shown)
				TH_LOG("zone %s order %u", zr->zone, o);
		}
	}
	free(bi1);
	free(bi2);
	free(buf);
}

/* A control handle and a control object, found again by explain. */
TEST_F(mmdev, explain_handle_and_object)
{
	char a[ANSWER_MAX], v[256], want[256], zone[16];
	uint64_t h, pfn, cid, oid, opfn, off;
	unsigned int order, size;

	ASSERT_EQ(0, CTL("alloc order=%u", ORD(2))) TH_LOG("%s", self->res);
	ASSERT_EQ(4, sscanf(self->res, "handle %" SCNu64 " order %u pfn 0x%" SCNx64 " zone %15s",
			    &h, &order, &pfn, zone));
	snprintf(want, sizeof(want), "handle %" PRIu64 "\n", h);
	ASSERT_EQ(0, explain(want, a, sizeof(a))) TH_LOG("%s", a);
	snprintf(want, sizeof(want), "control handle %" PRIu64, h);
	EXPECT_STREQ(want, key(a, "owner", v, sizeof(v))) TH_LOG("%s", a);
	snprintf(want, sizeof(want), "head pfn 0x%" PRIx64 " order %u state allocated", pfn, order);
	EXPECT_STREQ(want, key(a, "block", v, sizeof(v))) TH_LOG("%s", a);
	EXPECT_STREQ(zone, key(a, "zone", v, sizeof(v)));
	EXPECT_EQ(0, strncmp(key(a, "address", v, sizeof(v)), "0x", 2)) TH_LOG("%s", a);

	ASSERT_EQ(0, CTL("cache_create name=pm_explain size=200")) TH_LOG("%s", self->res);
	ASSERT_EQ(2, sscanf(self->res, "cache %" SCNu64 " name pm_explain objsize 200 size %u",
			    &cid, &size));
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, cid)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, cid)) TH_LOG("%s", self->res);
	ASSERT_EQ(4, sscanf(self->res, "object %" SCNu64 " cache %" SCNu64 " pfn 0x%" SCNx64
			    " offset %" SCNu64, &oid, &cid, &opfn, &off));
	snprintf(want, sizeof(want), "object %" PRIu64, oid);
	ASSERT_EQ(0, explain(want, a, sizeof(a))) TH_LOG("%s", a);
	EXPECT_EQ(0, strncmp(key(a, "owner", v, sizeof(v)), "slab cache pm_explain policy ",
			     29)) TH_LOG("%s", a);
	snprintf(want, sizeof(want), "object %" PRIu64 " kind slab size 200 cache %" PRIu64, oid,
		 cid);
	EXPECT_STREQ(want, key(a, "query", v, sizeof(v))) TH_LOG("%s", a);
	EXPECT_STREQ(want, key(a, "control", v, sizeof(v))) TH_LOG("%s", a);
	snprintf(want, sizeof(want), "pfn 0x%" PRIx64 " ", opfn + off / 4096);
	EXPECT_EQ(0, strncmp(key(a, "page", v, sizeof(v)), want, strlen(want))) TH_LOG("%s", a);
	snprintf(want, sizeof(want), "index %" PRIu64 " of ", off / size);
	EXPECT_EQ(0, strncmp(key(a, "object", v, sizeof(v)), want, strlen(want))) TH_LOG("%s", a);
	EXPECT_TRUE(strstr(v, " offset 0 size 200") != NULL) TH_LOG("%s", a);
	EXPECT_NE(0, key(a, "state", v, sizeof(v))[0]) TH_LOG("%s", a);
}

/* uva: an address in this process's own /dev/mmlab mapping. */
TEST_F(mmdev, explain_uva)
{
	char a[ANSWER_MAX], v[256], want[128], q[64];
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd, on_stack = 0;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[3 * PAGE + 10] = 1;
	ASSERT_EQ(0, mmdev_stats(fd, &s));

	snprintf(q, sizeof(q), "uva %p", (void *)(p + 3 * PAGE + 10));
	ASSERT_EQ(0, explain(q, a, sizeof(a))) TH_LOG("%s", a);
	snprintf(want, sizeof(want), "%llu offset 3 byte 10", (unsigned long long)s.id);
	EXPECT_STREQ(want, key(a, "region", v, sizeof(v))) TH_LOG("%s", a);
	snprintf(want, sizeof(want), "region %llu offset 3", (unsigned long long)s.id);
	EXPECT_STREQ(want, key(a, "owner", v, sizeof(v))) TH_LOG("%s", a);
	EXPECT_TRUE(strstr(key(a, "block", v, sizeof(v)), " order 0 state allocated") != NULL)
		TH_LOG("%s", a);

	/* Mapped but never touched: no page yet. */
	snprintf(q, sizeof(q), "uva %p", (void *)(p + 5 * PAGE));
	EXPECT_EQ(-ENOENT, explain(q, a, sizeof(a))) TH_LOG("%s", a);
	EXPECT_TRUE(strstr(a, "page: none (not faulted in") != NULL) TH_LOG("%s", a);
	/* Not a /dev/mmlab mapping, and nothing mapped at all. */
	snprintf(q, sizeof(q), "uva %p", (void *)&on_stack);
	EXPECT_EQ(-EINVAL, explain(q, a, sizeof(a))) TH_LOG("%s", a);
	EXPECT_TRUE(strstr(a, "not in a /dev/mmlab mapping") != NULL) TH_LOG("%s", a);
	EXPECT_EQ(-EINVAL, explain("uva 0x1000", a, sizeof(a))) TH_LOG("%s", a);
	EXPECT_EQ(-EINVAL, explain("uva banana", a, sizeof(a))) TH_LOG("%s", a);
	munmap(p, 8 * PAGE);
	close(fd);
}

TEST_F(mmdev, explain_bad_input)
{
	char a[ANSWER_MAX], b[ANSWER_MAX], v[256], long_q[300];
	int fd1, fd2;

	EXPECT_EQ(-EINVAL, explain("frob 1", a, sizeof(a)));
	EXPECT_TRUE(strstr(a, "unknown query") != NULL) TH_LOG("%s", a);
	EXPECT_EQ(-EINVAL, explain("kaddr", a, sizeof(a)));
	EXPECT_EQ(-EINVAL, explain("kaddr 0xzz", a, sizeof(a)));
	EXPECT_EQ(-EINVAL, explain("kaddr 0", a, sizeof(a)));
	EXPECT_EQ(-EINVAL, explain("", a, sizeof(a)));
	memset(long_q, 'k', sizeof(long_q) - 1);
	long_q[sizeof(long_q) - 1] = '\0';
	EXPECT_EQ(-EINVAL, explain(long_q, a, sizeof(a)));
	EXPECT_EQ(-ENOENT, explain("object 999999", a, sizeof(a)));
	EXPECT_EQ(-ENOENT, explain("handle 999999", a, sizeof(a)));
	/* Not managed: refused without reading it. */
	EXPECT_EQ(-ENOENT, explain("kaddr 0x1000", a, sizeof(a)));
	EXPECT_STREQ("none (not an address mmlab manages)", key(a, "owner", v, sizeof(v)));
	EXPECT_EQ(-ENOENT, explain("kaddr 0xffffffffffffff00", a, sizeof(a)));

	/* Each open file keeps its own answer. */
	fd1 = explain_open();
	fd2 = explain_open();
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-ENOENT, explain_on(fd1, "object 999999", a, sizeof(a)));
	EXPECT_EQ(-EINVAL, explain_on(fd2, "nope 1", b, sizeof(b)));
	lseek(fd1, 0, SEEK_SET);
	EXPECT_EQ(0, read(fd1, a, 0));
	EXPECT_TRUE(strstr(a, "no control object 999999") != NULL) TH_LOG("%s", a);
	EXPECT_TRUE(strstr(b, "unknown query") != NULL) TH_LOG("%s", b);
	close(fd1);
	close(fd2);
}

/* The VM's slabtop (/bin/mmlab-slabtop) lists a cache made here. */
TEST_F(mmdev, slabtop_once)
{
	char line[512], name[64], pol[16], osz[16];
	unsigned long objs, active, slabs, perslab, kb;
	int header = 0, found = 0, status, i, use;
	uint64_t cid;
	FILE *f;

	ASSERT_EQ(0, CTL("cache_create name=pm_top size=96")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %" SCNu64, &cid));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, cid)) TH_LOG("%s", self->res);
	f = popen("mmlab-slabtop -o -s n 2>&1", "r");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, " Active / Total Objects (% used)    : "))
			header++;
		if (strstr(line, "OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE POLICY NAME"))
			header++;
		if (sscanf(line, "%lu %lu %d%% %15s %lu %lu %luK %15s %63s", &objs, &active, &use,
			   osz, &slabs, &perslab, &kb, pol, name) == 9 && !strcmp(name, "pm_top")) {
			found = 1;
			EXPECT_EQ(10, active) TH_LOG("%s", line);
			EXPECT_STREQ("0.09K", osz) TH_LOG("%s", line);
			EXPECT_LE(1, slabs);
			EXPECT_EQ(slabs * 4, kb) TH_LOG("%s", line);
		}
	}
	status = pclose(f);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		SKIP(return, "mmlab-slabtop is not installed (vm-test.sh puts it in /bin)");
	EXPECT_EQ(0, status);
	EXPECT_EQ(2, header);
	EXPECT_TRUE(found) TH_LOG("no pm_top row");
}

TEST_HARNESS_MAIN
