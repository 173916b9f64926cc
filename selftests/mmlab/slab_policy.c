// SPDX-License-Identifier: GPL-2.0
/*
 * slab_policy - the slab policies SLUB, SLAB and SLOB (docs/slab-policies.md)
 * through /sys/kernel/debug/mmlab: a cache per policy (cache_create
 * policy=), objects allocated, checked and freed; slabinfo's ": policy"
 * section and SLAB's real tunables; cache_policy refused while a cache is
 * busy and accepted once it is empty; the slab_policy file (default for new
 * caches, EINVAL for an unknown name).
 */
#include "kselftest_harness.h"

#include "mmlab_helpers.h"

static const char *const policies[] = { "slub", "slab", "slob" };

/* "cache <id> name ..." -> id, or 0. */
static uint64_t cache_id(const char *res)
{
	uint64_t id;

	return sscanf(res, "cache %" SCNu64 " ", &id) == 1 ? id : 0;
}

/* The policy cache_info names (the last word), into buf. */
static int info_policy(const char *res, char *buf, size_t cap)
{
	const char *p = strstr(res, " policy ");

	if (!p)
		return -1;
	snprintf(buf, cap, "%s", p + strlen(" policy "));
	return 0;
}

/* The cache's slabinfo line, into line; 0 or -1. */
static int slabinfo_line(const char *name, char *line, size_t cap)
{
	char *text = malloc(MMLAB_VIEW_MAX);
	const char *p;
	char l[512];
	int found = -1;

	if (!text || mmlab_read_file("slabinfo", text, MMLAB_VIEW_MAX) <= 0) {
		free(text);
		return -1;
	}
	p = text;
	while (mmlab_next_line(&p, l, sizeof(l)) > 0) {
		if (!strncmp(l, name, strlen(name)) && l[strlen(name)] == ' ') {
			snprintf(line, cap, "%s", l);
			found = 0;
			break;
		}
	}
	free(text);
	return found;
}

/* Write a debugfs file; 0 or -errno. */
static int write_file(const char *name, const char *text)
{
	char path[512];
	ssize_t n;
	int fd;

	mmlab_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

TEST_F(mmlab, cache_per_policy)
{
	char line[512], want[64], pol[16], name[32];
	uint64_t id, obj[64];
	unsigned int i, k;

	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "st_pol_%s", policies[k]);
		ASSERT_EQ(0, CTL("cache_create name=%s size=200 policy=%s", name, policies[k]))
			TH_LOG("%s", self->res);
		id = cache_id(self->res);
		ASSERT_NE(0, id) TH_LOG("%s", self->res);
		ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, id)) TH_LOG("%s", self->res);
		ASSERT_EQ(0, info_policy(self->res, pol, sizeof(pol))) TH_LOG("%s", self->res);
		/* Until the SLOB policy lands, "slob" runs SLUB. */
		if (strcmp(policies[k], "slob")) {
			EXPECT_STREQ(policies[k], pol);
		}
		for (i = 0; i < 64; i++) {
			ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, id)) TH_LOG("%s", self->res);
			ASSERT_EQ(1, sscanf(self->res, "object %" SCNu64, &obj[i]));
			ASSERT_EQ(0, CTL("obj_fill object=%" PRIu64 " byte=%u", obj[i], i))
				TH_LOG("%s", self->res);
		}
		for (i = 0; i < 64; i++)
			EXPECT_EQ(0, CTL("obj_check object=%" PRIu64 " byte=%u", obj[i], i))
				TH_LOG("%s", self->res);
		ASSERT_EQ(0, slabinfo_line(name, line, sizeof(line))) TH_LOG("no %s", name);
		snprintf(want, sizeof(want), " : policy %s", pol);
		EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
		if (!strcmp(pol, "slab")) {
			unsigned int tl, tb, ts;
			const char *t = strstr(line, ": tunables ");

			ASSERT_NE(NULL, t);
			ASSERT_EQ(3, sscanf(t, ": tunables %u %u %u", &tl, &tb, &ts));
			EXPECT_EQ(120, tl) TH_LOG("%s", line);	/* enable_cpucache: <= 256 bytes */
			EXPECT_EQ(60, tb) TH_LOG("%s", line);
		}
		ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
		for (i = 0; i < 64; i++)
			EXPECT_EQ(0, CTL("cache_free %" PRIu64, obj[i])) TH_LOG("%s", self->res);
		EXPECT_EQ(0, CTL("cache_destroy %" PRIu64, id)) TH_LOG("%s", self->res);
	}
}

TEST_F(mmlab, switch_refused_while_busy)
{
	uint64_t id, obj;
	char line[512];

	ASSERT_EQ(0, CTL("cache_create name=st_switch size=100 policy=slub"))
		TH_LOG("%s", self->res);
	id = cache_id(self->res);
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, id)) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "object %" SCNu64, &obj));
	EXPECT_EQ(-EBUSY, CTL("cache_policy id=%" PRIu64 " policy=slab", id))
		TH_LOG("%s", self->res);
	EXPECT_NE(NULL, strstr(self->res, "is not empty (1 objects in use")) TH_LOG("%s", self->res);
	EXPECT_EQ(-EINVAL, CTL("cache_policy id=%" PRIu64 " policy=slib", id));
	EXPECT_EQ(0, CTL("cache_free %" PRIu64, obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_policy id=%" PRIu64 " policy=slab", id)) TH_LOG("%s", self->res);
	EXPECT_NE(NULL, strstr(self->res, "policy slab (was slub)")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, slabinfo_line("st_switch", line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " : policy slab")) TH_LOG("%s", line);
	/* It works under the new policy, and switches back when empty. */
	ASSERT_EQ(0, CTL("cache_alloc_bulk cache=%" PRIu64 " count=100", id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
	EXPECT_EQ(-EBUSY, CTL("cache_policy id=%" PRIu64 " policy=slub", id));
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
}

TEST_F(mmlab, slab_policy_file)
{
	char buf[64], pol[16];
	uint64_t id;

	ASSERT_LT(0, mmlab_read_file("slab_policy", buf, sizeof(buf)));
	EXPECT_TRUE(!strcmp(buf, "slub\n") || !strcmp(buf, "slab\n") || !strcmp(buf, "slob\n"))
		TH_LOG("'%s'", buf);
	EXPECT_EQ(-EINVAL, write_file("slab_policy", "slib\n"));
	ASSERT_EQ(0, write_file("slab_policy", "slab\n"));
	ASSERT_LT(0, mmlab_read_file("slab_policy", pol, sizeof(pol)));
	EXPECT_STREQ("slab\n", pol);
	ASSERT_EQ(0, CTL("cache_create name=st_dflt size=64")) TH_LOG("%s", self->res);
	id = cache_id(self->res);
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, info_policy(self->res, pol, sizeof(pol)));
	EXPECT_STREQ("slab", pol) TH_LOG("a new cache takes the default");
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, id)) TH_LOG("%s", self->res);
	EXPECT_EQ(0, write_file("slab_policy", buf));	/* back as it was */
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
}

TEST_HARNESS_MAIN
