// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev_share - sharing a /dev/mmlab region: MAP_SHARED across fork and
 * across processes attached by name (MMLAB_IOC_NAME / MMLAB_IOC_ATTACH,
 * shm_open-like); MAP_PRIVATE writes stay in the process (the kernel's
 * copy-on-write) and never reach the region; the mappings and files counts
 * of MMLAB_IOC_STATS follow fork, VMA splits, attach and exit.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

/* Child side of a handshake: tell the parent, wait for its go. */
static void handshake_child(int tell, int wait)
{
	char c = 'c';

	if (write(tell, &c, 1) != 1 || read(wait, &c, 1) != 1)
		_exit(90);
}

static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST_F(mmdev, shared_across_fork)
{
	int up[2], down[2], fd;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	pid_t pid;
	char c;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 16 * PAGE));
	p = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, 8, 1);
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (mmdev_check(p, 8, 1) != 8)
			_exit(1);	/* the parent's pages */
		mmdev_fill(p + 8 * PAGE, 8, 2);
		p[0] = 0xee;
		handshake_child(up[1], down[0]);
		_exit(p[PAGE] == 0x77 ? 0 : 2);	/* the parent's write after fork */
	}
	ASSERT_EQ(1, read(up[0], &c, 1));
	EXPECT_EQ(8, mmdev_check(p + 8 * PAGE, 8, 2)) TH_LOG("the child's pages");
	EXPECT_EQ(0xee, p[0]);
	p[PAGE] = 0x77;
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(16, s.resident_pages);
	EXPECT_EQ(16, s.alloc_faults) TH_LOG("one page per offset for both processes");
	EXPECT_EQ(2, s.mappings) TH_LOG("the child's copy of the VMA counts");
	EXPECT_EQ(1, s.files) TH_LOG("fork shares the open file");
	ASSERT_EQ(1, write(down[1], "g", 1));
	EXPECT_EQ(0, child_status(pid));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.mappings) TH_LOG("the child's exit unmapped its VMA");
	EXPECT_EQ(16, s.resident_pages) TH_LOG("the child's exit freed nothing");
	EXPECT_EQ(self->used0 + 16, mmdev_used());
	munmap(p, 16 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

/*
 * Two unrelated opens of /dev/mmlab: the second attaches to the first's
 * region by name and both see the same pages, in both directions.
 */
TEST_F(mmdev, shared_across_attach)
{
	int up[2], down[2], fd;
	struct mmlab_mmdev_stats s;
	uint64_t regions0 = mmdev_stat("regions");
	char name[32];
	unsigned char *p;
	pid_t pid;
	char c;

	snprintf(name, sizeof(name), "mmdev-attach.%d", getpid());
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	ASSERT_EQ(0, mmdev_name(fd, name)) TH_LOG("NAME: %s", strerror(errno));
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, 4, 3);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(regions0 + 1, mmdev_stat("regions"));
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mmlab_mmdev_stats cs;
		unsigned char *q;
		int cfd;

		close(fd);	/* nothing inherited: only the name connects us */
		munmap(p, 8 * PAGE);
		cfd = mmdev_open();
		if (cfd < 0 || mmdev_attach(cfd, name))
			_exit(1);
		if (mmdev_stats(cfd, &cs) || cs.id != s.id || cs.size_pages != 8 || cs.files != 2)
			_exit(2);
		q = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
		if (q == MAP_FAILED)
			_exit(3);
		if (mmdev_check(q, 4, 3) != 4)
			_exit(4);
		mmdev_fill(q + 4 * PAGE, 4, 4);
		handshake_child(up[1], down[0]);
		_exit(mmdev_check(q, 1, 5) == 1 ? 0 : 5);
	}
	ASSERT_EQ(1, read(up[0], &c, 1)) TH_LOG("child status %d", child_status(pid));
	EXPECT_EQ(4, mmdev_check(p + 4 * PAGE, 4, 4)) TH_LOG("the attached process's pages");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8, s.resident_pages);
	EXPECT_EQ(8, s.alloc_faults);
	EXPECT_EQ(2, s.files) TH_LOG("opener + attacher");
	EXPECT_EQ(2, s.mappings);
	EXPECT_EQ(regions0 + 1, mmdev_stat("regions")) TH_LOG("the attacher's own region went");
	mmdev_fill(p, 1, 5);
	ASSERT_EQ(1, write(down[1], "g", 1));
	EXPECT_EQ(0, child_status(pid)) TH_LOG("1 attach 2 stats 3 mmap 4 data 5 our write");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.files);
	EXPECT_EQ(1, s.mappings);
	EXPECT_EQ(8, s.resident_pages);
	munmap(p, 8 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	EXPECT_EQ(regions0, mmdev_stat("regions"));
}

TEST_F(mmdev, name_and_attach_errors)
{
	char name[32], other[40];
	int a, b, c;
	void *m;

	snprintf(name, sizeof(name), "mmdev-err.%d", getpid());
	a = mmdev_open();
	b = mmdev_open();
	c = mmdev_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, c);

	/* bad names */
	EXPECT_EQ(-1, mmdev_name(a, ""));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mmdev_name(a, "a/b"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mmdev_name(a, "with space"));
	EXPECT_EQ(EINVAL, errno);
	memset(other, 'x', sizeof(other));
	other[32] = '\0';
	EXPECT_EQ(-1, mmdev_name(a, other)) TH_LOG("32 bytes and no NUL");
	EXPECT_EQ(EINVAL, errno);
	other[31] = '\0';
	EXPECT_EQ(0, mmdev_name(c, other)) TH_LOG("31 characters are allowed: %s", strerror(errno));

	EXPECT_EQ(0, mmdev_name(a, name)) TH_LOG("NAME: %s", strerror(errno));
	EXPECT_EQ(-1, mmdev_name(a, "another-name"));
	EXPECT_EQ(EINVAL, errno) TH_LOG("a region has one name");
	EXPECT_EQ(-1, mmdev_name(b, name));
	EXPECT_EQ(EEXIST, errno) TH_LOG("the name is taken");
	close(b);
	b = mmdev_open();
	ASSERT_LE(0, b);
	EXPECT_EQ(-1, mmdev_attach(b, "no-such-region"));
	EXPECT_EQ(ENOENT, errno);

	/* ATTACH only on a fresh file */
	EXPECT_EQ(-1, mmdev_attach(c, name));
	EXPECT_EQ(EBUSY, errno) TH_LOG("a named file");
	close(c);
	c = mmdev_open();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, mmdev_set_size(c, PAGE));
	EXPECT_EQ(-1, mmdev_attach(c, name));
	EXPECT_EQ(EBUSY, errno) TH_LOG("a sized file");
	close(c);
	c = mmdev_open();
	ASSERT_LE(0, c);
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, c, 0);
	ASSERT_NE(MAP_FAILED, m);
	munmap(m, PAGE);
	EXPECT_EQ(-1, mmdev_attach(c, name));
	EXPECT_EQ(EBUSY, errno) TH_LOG("a mapped file");
	close(c);

	/* an attached file cannot attach again, nor be named */
	EXPECT_EQ(0, mmdev_attach(b, name));
	EXPECT_EQ(-1, mmdev_attach(b, name));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, mmdev_name(b, "yet-another"));
	EXPECT_EQ(EINVAL, errno) TH_LOG("the region already has a name");
	close(a);
	close(b);
	EXPECT_EQ(self->used0, mmdev_used());
}

/*
 * shm_open(O_CREAT)'s pattern: name a fresh file; if the name is taken,
 * attach that same file to the region that has it. A refused NAME does not
 * name the file, so the file is still fresh and ATTACH must work on it.
 */
TEST_F(mmdev, attach_after_name_taken)
{
	struct mmlab_mmdev_stats sa, sb;
	char name[32];
	int a, b;

	snprintf(name, sizeof(name), "mmdev-create.%d", getpid());
	a = mmdev_open();
	b = mmdev_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, mmdev_name(a, name));
	EXPECT_EQ(-1, mmdev_name(b, name));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, mmdev_attach(b, name)) TH_LOG("ATTACH after a refused NAME: %s (the refused NAME used the file up)",
						  strerror(errno));
	ASSERT_EQ(0, mmdev_stats(a, &sa));
	ASSERT_EQ(0, mmdev_stats(b, &sb));
	EXPECT_EQ(sa.id, sb.id);
	close(a);
	close(b);
	b = mmdev_open();
	ASSERT_LE(0, b);
	EXPECT_EQ(-1, mmdev_name(b, "bad/name"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mmdev_attach(b, name));
	EXPECT_EQ(ENOENT, errno) TH_LOG("after a bad name the file is still fresh");
	close(b);
}

/*
 * The name lives as long as the region: after the opener closes, the
 * attacher keeps it (data and name); when the last file goes, so does the
 * name, and it can be given to a new region.
 */
TEST_F(mmdev, name_lives_with_the_region)
{
	struct mmlab_mmdev_stats s;
	uint64_t regions0 = mmdev_stat("regions");
	unsigned char *p;
	char name[32];
	int a, b, c;

	snprintf(name, sizeof(name), "mmdev-life.%d", getpid());
	a = mmdev_open();
	ASSERT_LE(0, a);
	ASSERT_EQ(0, mmdev_name(a, name));
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, 4, 6);
	munmap(p, 4 * PAGE);
	b = mmdev_open();
	ASSERT_LE(0, b);
	ASSERT_EQ(0, mmdev_attach(b, name));
	close(a);
	ASSERT_EQ(0, mmdev_stats(b, &s));
	EXPECT_EQ(1, s.files);
	EXPECT_EQ(4, s.resident_pages) TH_LOG("the opener's close freed the region");
	EXPECT_EQ(self->used0 + 4, mmdev_used());
	c = mmdev_open();
	ASSERT_LE(0, c);
	EXPECT_EQ(0, mmdev_attach(c, name)) TH_LOG("the name went with the opener: %s",
						  strerror(errno));
	p = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, c, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(4, mmdev_check(p, 4, 6));
	munmap(p, 4 * PAGE);
	close(b);
	close(c);
	EXPECT_EQ(self->used0, mmdev_used()) TH_LOG("the last close frees the pages");
	EXPECT_EQ(regions0, mmdev_stat("regions"));
	a = mmdev_open();
	ASSERT_LE(0, a);
	EXPECT_EQ(-1, mmdev_attach(a, name));
	EXPECT_EQ(ENOENT, errno) TH_LOG("the name outlived its region");
	EXPECT_EQ(0, mmdev_name(a, name)) TH_LOG("the name is free again: %s", strerror(errno));
	close(a);
}

/*
 * MAP_PRIVATE: reads see the region until the process writes; a write makes
 * a private copy (not one of mmlab's pages) that the region never sees, and
 * later region writes do not reach it; DONTNEED drops the copy.
 */
TEST_F(mmdev, private_isolation)
{
	struct mmlab_mmdev_stats s;
	volatile unsigned char *sh, *pr;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 4 * PAGE));
	sh = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)sh);
	pr = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)pr);

	sh[0] = 1;
	EXPECT_EQ(1, pr[0]) TH_LOG("before its first write a private mapping sees the region");
	pr[0] = 2;
	EXPECT_EQ(1, sh[0]) TH_LOG("a private write reached the region");
	sh[0] = 3;
	EXPECT_EQ(2, pr[0]) TH_LOG("a region write reached the private copy");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.resident_pages);
	EXPECT_EQ(self->used0 + 1, mmdev_used()) TH_LOG("the private copy is not mmlab's");

	pr[PAGE] = 5;	/* first touch of page 1 is a private write */
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(2, s.resident_pages) TH_LOG("the copy is made from the region's page");
	EXPECT_EQ(0, sh[PAGE]);
	EXPECT_EQ(5, pr[PAGE]);

	ASSERT_EQ(0, madvise((void *)pr, 4 * PAGE, MADV_DONTNEED));
	EXPECT_EQ(3, pr[0]) TH_LOG("DONTNEED drops the private copy");
	EXPECT_EQ(0, pr[PAGE]);
	munmap((void *)sh, 4 * PAGE);
	munmap((void *)pr, 4 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

TEST_F(mmdev, private_across_fork)
{
	volatile unsigned char *sh, *pr;
	int fd;
	pid_t pid;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	sh = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)sh);
	pr = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)pr);
	sh[0] = 1;
	pr[PAGE] = 7;	/* the parent's private copy */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (pr[0] != 1 || pr[PAGE] != 7)
			_exit(1);
		pr[0] = 9;	/* the child's own copy */
		pr[PAGE] = 8;	/* COW of the parent's anonymous copy */
		sh[PAGE] = 4;
		_exit(sh[0] == 1 ? 0 : 2);
	}
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(1, pr[0]) TH_LOG("the child's private write reached the parent");
	EXPECT_EQ(7, pr[PAGE]);
	EXPECT_EQ(1, sh[0]);
	EXPECT_EQ(4, sh[PAGE]) TH_LOG("the child's shared write is in the region");
	munmap((void *)sh, 2 * PAGE);
	munmap((void *)pr, 2 * PAGE);
	close(fd);
}

/* mappings counts VMAs: a split by mprotect makes three of one. */
TEST_F(mmdev, mappings_count_vmas)
{
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.mappings);
	EXPECT_EQ(1, s.files);
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.mappings);
	ASSERT_EQ(0, mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(3, s.mappings) TH_LOG("mprotect split the VMA in three");
	ASSERT_EQ(0, munmap(p + 6 * PAGE, 2 * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(3, s.mappings) TH_LOG("the tail unmapped, three VMAs left");
	ASSERT_EQ(0, munmap(p, 6 * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.mappings);
	close(fd);
}

TEST_HARNESS_MAIN
