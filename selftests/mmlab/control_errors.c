// SPDX-License-Identifier: GPL-2.0
/*
 * control_errors - bad input to /sys/kernel/debug/mmlab/control: random
 * bytes, NUL bytes, overlong lines, out-of-range and negative numbers,
 * unknown commands and keys, missing values, empty lines. Every one must fail
 * its write() with EINVAL, leave a reason to read back, change nothing in
 * the allocator, and leave the kernel healthy ("check" still answers "ok").
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"

struct bad {
	const char *buf;
	size_t len;
};
/* A literal with its exact length, embedded NULs included. */
#define BAD(s) { s, sizeof(s) - 1 }
#define NBAD(a) (sizeof(a) / sizeof((a)[0]))

/* Printable rendering of up to 48 bytes, for messages. */
static const char *show(const char *buf, size_t len)
{
	static char out[256];
	size_t i, o = 0;

	for (i = 0; i < len && i < 48 && o + 8 < sizeof(out); i++) {
		unsigned char c = buf[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
	}
	if (i < len)
		o += snprintf(out + o, sizeof(out) - o, "... (%zu bytes)", len);
	out[o] = '\0';
	return out;
}

/*
 * Send each bad command; each must fail with EINVAL and leave a reason. The
 * allocator must be unchanged afterwards and still answer "check" with "ok"
 * on the same descriptor.
 */
static void expect_einval(struct __test_metadata *_metadata, FIXTURE_DATA(mmlab) *self,
			  const struct bad *bad, size_t n)
{
	struct mmlab_stats before, after;
	size_t i;
	int ret;

	ASSERT_EQ(0, mmlab_read_stats(&before, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	for (i = 0; i < n; i++) {
		ret = mmlab_ctl_write(self->fd, bad[i].buf, bad[i].len, self->res,
				      sizeof(self->res));
		EXPECT_EQ(-EINVAL, ret)
			TH_LOG("'%s' -> %s (%s)", show(bad[i].buf, bad[i].len),
			       ret ? strerror(-ret) : "accepted", self->res);
		EXPECT_NE(0, self->res[0])
			TH_LOG("'%s': no reason to read back", show(bad[i].buf, bad[i].len));
	}
	ASSERT_EQ(0, mmlab_read_stats(&after, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(before.used_pages, after.used_pages);
	EXPECT_EQ(before.control_handles, after.control_handles);
	EXPECT_EQ(before.host_chunks_borrowed, after.host_chunks_borrowed);
	ret = CTL("check");
	ASSERT_EQ(0, ret) TH_LOG("check: %s (%s)", strerror(-ret), self->res);
	EXPECT_STREQ("ok", self->res);
}

/* A bad command leaves a warning from mmlab in the kernel log. */
TEST_F(mmlab, bad_command_warns_in_kernel_log)
{
	static const char cmd[] = "frobnicate order=1\n";
	char rec[2048];
	int kfd, attempt, found = 0;
	ssize_t n;

	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kfd < 0)
		SKIP(return, "/dev/kmsg: %s", strerror(errno));
	/* Warnings are rate limited (10 per 5 s): retry once after a window. */
	for (attempt = 0; attempt < 2 && !found; attempt++) {
		if (attempt)
			usleep(5500 * 1000);
		ASSERT_LE(0, lseek(kfd, 0, SEEK_END));
		ASSERT_EQ(-EINVAL, mmlab_ctl_write(self->fd, cmd, strlen(cmd), self->res,
						   sizeof(self->res)));
		for (;;) {
			n = read(kfd, rec, sizeof(rec) - 1);
			if (n < 0 && errno == EPIPE)
				continue;	/* records overwritten: go on */
			if (n <= 0)
				break;
			rec[n] = '\0';
			/* "<prio>,<seq>,<usec>,<flags>;mmlab: ..."; kernel facility 0. */
			if (!strncmp(rec, "4,", 2) && strstr(rec, ";mmlab: "))
				found = 1;
		}
	}
	close(kfd);
	EXPECT_TRUE(found) TH_LOG("no KERN_WARNING line from mmlab after '%s'", show(cmd, strlen(cmd)));
}

/* Random bytes, fixed seed: lines of 1..300 bytes, some up to 4 KiB. */
TEST_F(mmlab, random_bytes)
{
	enum { N = 200 };
	static struct bad bad[N];
	static char data[N][4096];
	uint64_t x = 0x6d6d6c6162ull;	/* xorshift64, "mmlab" */
	size_t i, j, len;

	for (i = 0; i < N; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		len = (i % 16 == 15) ? 1 + x % 4096 : 1 + x % 300;
		for (j = 0; j < len; j++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			data[i][j] = (char)(x >> 24);
		}
		/* Make sure the first line holds a byte no command may contain. */
		data[i][0] = (char)(0x80 | (x & 0x7f));
		bad[i].buf = data[i];
		bad[i].len = len;
	}
	expect_einval(_metadata, self, bad, N);
}

TEST_F(mmlab, nul_bytes)
{
	static const struct bad bad[] = {
		BAD("\0"), BAD("\0\n"), BAD("check\0"), BAD("check\0\n"),
		BAD("\0check\n"), BAD("alloc\0order=0\n"), BAD("alloc order=0\0\n"),
		BAD("alloc order=\0" "0\n"), BAD("free_all\0garbage\n"),
		BAD("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

/* A valid command made longer than 256 bytes by repeating a valid flag. */
static char *long_line(size_t len, int newline)
{
	static const char head[] = "alloc order=0 gfp=GFP_KERNEL", rep[] = "|__GFP_NOWARN";
	char *p = malloc(len + 1);
	size_t o;

	if (!p)
		return NULL;
	memcpy(p, head, strlen(head));
	for (o = strlen(head); o < len; o++)
		p[o] = rep[(o - strlen(head)) % strlen(rep)];
	if (newline)
		p[len - 1] = '\n';
	p[len] = '\0';
	return p;
}

TEST_F(mmlab, overlong_lines)
{
	static const size_t lens[] = { 258, 300, 301, 1000, 4095, 4096, 4097, 65536, 1 << 20 };
	struct bad bad[2 * NBAD(lens) + 1];
	char *bufs[2 * NBAD(lens) + 1];
	size_t i, n = 0;

	for (i = 0; i < NBAD(lens); i++) {
		bufs[n] = long_line(lens[i], 1);
		ASSERT_NE(NULL, bufs[n]);
		bad[n].buf = bufs[n];
		bad[n].len = lens[i];
		n++;
		bufs[n] = long_line(lens[i], 0);
		ASSERT_NE(NULL, bufs[n]);
		bad[n].buf = bufs[n];
		bad[n].len = lens[i];
		n++;
	}
	/* 1 MiB of one letter. */
	bufs[n] = malloc(1 << 20);
	ASSERT_NE(NULL, bufs[n]);
	memset(bufs[n], 'a', 1 << 20);
	bad[n].buf = bufs[n];
	bad[n].len = 1 << 20;
	n++;
	expect_einval(_metadata, self, bad, n);
	for (i = 0; i < n; i++)
		free(bufs[i]);
}

TEST_F(mmlab, huge_numbers)
{
	static const struct bad bad[] = {
		BAD("alloc order=18446744073709551616\n"),		/* 2^64 */
		BAD("alloc order=1180591620717411303424\n"),		/* 2^70 */
		BAD("alloc order=0x10000000000000000\n"),
		BAD("alloc order=99999999999999999999999999999999999999\n"),
		BAD("alloc order=18446744073709551615\n"),		/* 2^64-1 > chunk_order */
		BAD("alloc order=4294967296\n"),			/* 2^32 */
		BAD("free 18446744073709551616\n"),
		BAD("free 1180591620717411303424\n"),
		BAD("free handle=18446744073709551616\n"),
		BAD("free handle=0x400000000000000000\n"),		/* 2^70 */
		BAD("free_pfn pfn=0x10000000000000000 order=0\n"),
		BAD("free_pfn pfn=18446744073709551616 order=0\n"),
		BAD("free_pfn pfn=0x1000 order=1180591620717411303424\n"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

TEST_F(mmlab, negative_numbers)
{
	static const struct bad bad[] = {
		BAD("alloc order=-1\n"), BAD("alloc order=-0x1\n"),
		BAD("alloc order=-18446744073709551615\n"),
		BAD("free -1\n"), BAD("free handle=-1\n"), BAD("free handle=-5 order=0\n"),
		BAD("free_pfn pfn=-0x1 order=0\n"), BAD("free_pfn pfn=0x1000 order=-1\n"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

TEST_F(mmlab, unknown_commands)
{
	static const struct bad bad[] = {
		BAD("frobnicate\n"), BAD("allocate order=0\n"), BAD("alloc_pages order=0\n"),
		BAD("free_al\n"), BAD("free_alll\n"), BAD("checkk\n"), BAD("shrink_all\n"),
		BAD("kmalloc size=64 handle=1 order=0 pfn=0x1 now\n"), BAD("=\n"), BAD("order=0\n"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

TEST_F(mmlab, unknown_keys)
{
	static const struct bad bad[] = {
		BAD("alloc order=0 colour=blue\n"), BAD("alloc size=4096\n"),
		BAD("alloc order=0 node=0\n"), BAD("free handle=1 pfn=0x1000\n"),
		BAD("free_pfn pfn=0x1000 order=0 handle=1\n"), BAD("check verbose=1\n"),
		BAD("shrink now=1\n"), BAD("free_all force=1\n"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

TEST_F(mmlab, malformed_values)
{
	static const struct bad bad[] = {
		BAD("alloc\n"), BAD("alloc order\n"), BAD("alloc order=\n"), BAD("alloc =0\n"),
		BAD("alloc order=0 order=0\n"), BAD("alloc order=0 gfp=GFP_KERNEL gfp=GFP_KERNEL\n"),
		BAD("alloc order=1x\n"), BAD("alloc order=0x\n"), BAD("alloc order=1.5\n"),
		BAD("alloc order=one\n"), BAD("alloc order=0 gfp=\n"),
		BAD("alloc order=0 gfp=GFP_BOGUS\n"), BAD("alloc order=0 gfp=GFP_KERNEL|\n"),
		BAD("alloc order=0 gfp=|GFP_KERNEL\n"), BAD("alloc order=0 gfp=GFP_KERNEL||__GFP_ZERO\n"),
		BAD("free\n"), BAD("free handle=\n"), BAD("free abc\n"), BAD("free 1 2\n"),
		BAD("free_pfn order=0\n"), BAD("free_pfn pfn=0x1000\n"), BAD("free_pfn pfn=0xg order=0\n"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

TEST_F(mmlab, empty_lines)
{
	static const struct bad bad[] = {
		BAD("\n"), BAD(" \n"), BAD("   \n"), BAD("\t\n"), BAD("\r\n"), BAD("\n\n"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

/* The zone, reclaim and per-CPU commands refuse what docs/debugfs.md does not allow. */
TEST_F(mmlab, reclaim_and_pcp_commands_malformed)
{
	static const struct bad bad[] = {
		BAD("alloc order=0 context=\n"), BAD("alloc order=0 context=bogus\n"),
		BAD("alloc order=0 context=irq\n"), BAD("alloc order=0 context=timer context=timer\n"),
		BAD("alloc order=0 gfp=GFP_KERNEL context=irqoff\n"),	/* sleeping gfp, atomic */
		BAD("alloc order=0 context=timer\n"),			/* default GFP_KERNEL */
		BAD("kmalloc size=64 context=timer\n"),			/* default GFP_KERNEL, in a timer */
		BAD("pressure\n"), BAD("pressure consume\n"), BAD("pressure consume=\n"),
		BAD("pressure consume=-1\n"), BAD("pressure consume=18446744073709551616\n"),
		BAD("pressure release=\n"), BAD("pressure release=some\n"),
		BAD("pressure release=-1\n"), BAD("pressure consume=1 gfp=GFP_BOGUS\n"),
		BAD("pressure hold=1\n"),
		BAD("drain now\n"), BAD("drain cpu=0\n"), BAD("kswapd now=1\n"),
		BAD("pcp\n"), BAD("pcp high=\n"), BAD("pcp high=-1 batch=1\n"),
		BAD("pcp high=4097 batch=1\n"), BAD("pcp high=8 batch=9\n"),
		BAD("pcp high=8 batch=4 colour=red\n"), BAD("pcp high=8 high=8 batch=4\n"),
		BAD("min_free_kbytes\n"), BAD("min_free_kbytes=\n"), BAD("min_free_kbytes=-1\n"),
		BAD("min_free_kbytes=18446744073709551616\n"), BAD("min_free_kbytes=lots\n"),
	};
	expect_einval(_metadata, self, bad, NBAD(bad));
}

/* After all that, the same descriptor still allocates and frees. */
TEST_F(mmlab, still_works_after_garbage)
{
	static const char garbage[] = "\xff\xfe garbage \x01\n";
	struct mmlab_block b;

	EXPECT_EQ(-EINVAL, mmlab_ctl_write(self->fd, garbage, sizeof(garbage) - 1,
					   self->res, sizeof(self->res)));
	ASSERT_EQ(0, mmlab_alloc(self->fd, 0, &b, self->res, sizeof(self->res)))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
	EXPECT_STREQ("ok", self->res);
}

MMLAB_HARNESS_MAIN
