// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev_vm - the mm system calls on a /dev/mmlab mapping behave as on a
 * shmem file: munmap and MADV_DONTNEED drop the mapping, not the data;
 * MMLAB_IOC_PUNCH frees pages back to mmlab's buddy lists (buddyinfo shows
 * them) and zaps the mappings, private copies survive; mprotect and a
 * read-only file give SIGSEGV / EACCES; mlock populates, and mlocked
 * pages go back cleanly (no "Bad page"); mremap moves, grows within the
 * size (SIGBUS past it) and shrinks; msync succeeds.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT	0x01
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif

static uint64_t bi_total(const struct mmlab_buddyinfo *bi)
{
	uint64_t sum = 0;
	unsigned int z;

	for (z = 0; z < bi->nzones; z++)
		sum += mmlab_bi_pages(&bi->z[z]);
	return sum;
}

TEST_F(mmdev, dontneed_keeps_data)
{
	const size_t n = 16;
	struct mmlab_mmdev_stats s0, s;
	unsigned char *p;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 11);
	ASSERT_EQ(0, mmdev_stats(fd, &s0));
	ASSERT_EQ(0, madvise(p, n * PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages) TH_LOG("DONTNEED freed region pages");
	EXPECT_EQ(self->used0 + n, mmdev_used());
	EXPECT_EQ(n, mmdev_check(p, n, 11)) TH_LOG("the same contents after DONTNEED");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(s0.alloc_faults, s.alloc_faults) TH_LOG("refaults took new pages");
	EXPECT_LE(s0.faults + n, s.faults) TH_LOG("DONTNEED did not unmap");
	munmap(p, n * PAGE);
	close(fd);
}

TEST_F(mmdev, munmap_keeps_data)
{
	const size_t n = 16;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 12);
	ASSERT_EQ(0, munmap(p, n * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(0, s.mappings);
	EXPECT_EQ(self->used0 + n, mmdev_used());
	p = mmap(NULL, n * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(n, mmdev_check(p, n, 12));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.alloc_faults);
	munmap(p, n * PAGE);
	close(fd);
}

/*
 * PUNCH gives the pages to mmlab at once: used_pages drops by as many, and
 * after a drain of the per-CPU lists buddyinfo has exactly that many more
 * free pages (plus whatever kswapd borrowed meanwhile, from host_pages).
 */
TEST_F(mmdev, punch_frees_pages_to_buddyinfo)
{
	const size_t n = 256;
	struct mmlab_buddyinfo *b1, *b2;
	struct mmlab_stats s1, s2;
	struct mmlab_mmdev_stats rs;
	unsigned char *p;
	int fd;

	b1 = calloc(2, sizeof(*b1));
	ASSERT_NE(NULL, b1);
	b2 = b1 + 1;
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 13);
	ASSERT_EQ(self->used0 + n, mmdev_used());

	mmlab_settle();
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	STATS(&s1);
	BUDDYINFO(b1);
	ASSERT_EQ(0, mmdev_punch(fd, 0, n * PAGE)) TH_LOG("PUNCH: %s", strerror(errno));
	ASSERT_EQ(0, mmdev_stats(fd, &rs));
	EXPECT_EQ(0, rs.resident_pages);
	EXPECT_EQ(0, rs.busy_pages) TH_LOG("punched pages still mapped: not zapped?");
	EXPECT_EQ(n, rs.size_pages) TH_LOG("punch keeps the size");
	EXPECT_EQ(self->used0, mmdev_used()) TH_LOG("punched pages not back in mmlab");
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	STATS(&s2);
	BUDDYINFO(b2);
	EXPECT_EQ(bi_total(b1) + n + (s2.host_pages - s1.host_pages), bi_total(b2))
		TH_LOG("buddyinfo %llu -> %llu free pages, host_pages %llu -> %llu",
		       (unsigned long long)bi_total(b1), (unsigned long long)bi_total(b2),
		       (unsigned long long)s1.host_pages, (unsigned long long)s2.host_pages);
	EXPECT_EQ(s2.free_pages, bi_total(b2));
	munmap(p, n * PAGE);
	close(fd);
	free(b1);
}

/*
 * PUNCH zaps the shared mappings of the range (the next touch gets a fresh
 * zeroed page) and leaves the rest alone; a private copy survives, as with
 * fallocate(PUNCH_HOLE) on shmem.
 */
TEST_F(mmdev, punch_zaps_mappings)
{
	struct mmlab_mmdev_stats s;
	unsigned char *sh, *pr;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	sh = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, sh);
	pr = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, pr);
	mmdev_fill(sh, 8, 14);
	pr[0] = 0x42;			/* private copy of page 0 */
	EXPECT_EQ(mmdev_pattern(5, 0, 14), pr[5 * PAGE]);	/* page 5 mapped by both */

	ASSERT_EQ(0, mmdev_punch(fd, 2 * PAGE, 4 * PAGE));	/* pages 2..5 */
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(4, s.resident_pages);
	EXPECT_EQ(0, s.busy_pages);
	EXPECT_EQ(self->used0 + 4, mmdev_used());
	EXPECT_EQ(0, pr[5 * PAGE]) TH_LOG("the private mapping's PTE of page 5 survived the punch");
	EXPECT_EQ(4, mmdev_check_zero(sh + 2 * PAGE, 4)) TH_LOG("punched pages still show data");
	EXPECT_EQ(2, mmdev_check(sh, 2, 14));
	EXPECT_EQ(mmdev_pattern(6, 0, 14), sh[6 * PAGE]);
	EXPECT_EQ(mmdev_pattern(7, 64, 14), sh[7 * PAGE + 64]);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8, s.resident_pages);
	EXPECT_EQ(12, s.alloc_faults);

	ASSERT_EQ(0, mmdev_punch(fd, 0, 8 * PAGE));
	EXPECT_EQ(0x42, pr[0]) TH_LOG("the private copy is the process's, not the region's");
	EXPECT_EQ(0, sh[0]);
	EXPECT_EQ(0, pr[PAGE]);
	/* a range past the size is nothing to punch */
	EXPECT_EQ(0, mmdev_punch(fd, 64 * PAGE, PAGE));
	munmap(sh, 8 * PAGE);
	munmap(pr, 8 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

TEST_F(mmdev, punch_errors)
{
	int fd = mmdev_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	EXPECT_EQ(-1, mmdev_punch(fd, 1, PAGE));
	EXPECT_EQ(EINVAL, errno) TH_LOG("unaligned offset");
	EXPECT_EQ(-1, mmdev_punch(fd, 0, 100));
	EXPECT_EQ(EINVAL, errno) TH_LOG("unaligned length");
	EXPECT_EQ(-1, mmdev_punch(fd, 0, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("empty range");
	EXPECT_EQ(-1, ioctl(fd, MMLAB_IOC_PUNCH, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

/*
 * MADV_REMOVE cannot reach a character device (ENODEV, docs/mmdev.md) and
 * frees nothing; MAP_POPULATE and MADV_POPULATE_READ/WRITE fault the range
 * in at once, and MADV_POPULATE past the size is EFAULT (its SIGBUS).
 */
TEST_F(mmdev, madvise_remove_and_populate)
{
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 32 * PAGE));
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8, s.resident_pages) TH_LOG("MAP_POPULATE");
	mmdev_fill(p, 8, 19);
	EXPECT_EQ(-1, madvise(p, 8 * PAGE, MADV_REMOVE));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8, s.resident_pages);
	EXPECT_EQ(8, mmdev_check(p, 8, 19));
	munmap(p, 8 * PAGE);

	p = mmap(NULL, 40 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, madvise(p + 8 * PAGE, 8 * PAGE, MADV_POPULATE_WRITE)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, madvise(p + 16 * PAGE, 8 * PAGE, MADV_POPULATE_READ)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(24, s.resident_pages);
	EXPECT_EQ(24, s.alloc_faults);
	EXPECT_EQ(-1, madvise(p + 24 * PAGE, 16 * PAGE, MADV_POPULATE_WRITE));
	EXPECT_EQ(EFAULT, errno) TH_LOG("populating past the size");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(32, s.resident_pages) TH_LOG("up to the size");
	EXPECT_EQ(self->used0 + 32, mmdev_used());
	munmap(p, 40 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

static volatile siginfo_t bus_info;
static sigjmp_buf bus_jb;

static void on_bus_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	bus_info.si_signo = si->si_signo;
	bus_info.si_code = si->si_code;
	bus_info.si_addr = si->si_addr;
	siglongjmp(bus_jb, sig);
}

/* SIGBUS past the size is a file's: BUS_ADRERR at the faulting address. */
TEST_F(mmdev, sigbus_siginfo)
{
	struct sigaction sa, old;
	volatile unsigned char *p;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, PAGE));
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)p);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus_info;
	sa.sa_flags = SA_SIGINFO;
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, &old));
	memset((void *)&bus_info, 0, sizeof(bus_info));
	if (sigsetjmp(bus_jb, 1) == 0)
		p[2 * PAGE + 5] = 1;
	sigaction(SIGBUS, &old, NULL);
	EXPECT_EQ(SIGBUS, bus_info.si_signo);
	EXPECT_EQ(BUS_ADRERR, bus_info.si_code);
	EXPECT_EQ((void *)(p + 2 * PAGE + 5), bus_info.si_addr);
	munmap((void *)p, 4 * PAGE);
	close(fd);
}

/* mprotect: a write to a read-only mapping faults (SIGSEGV), reads work. */
TEST_F(mmdev, mprotect_read_only_faults_on_write)
{
	struct mmlab_mmdev_stats s;
	volatile unsigned char *p;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)p);
	p[0] = 1;
	ASSERT_EQ(0, mprotect((void *)p, 4 * PAGE, PROT_READ));
	EXPECT_EQ(SIGSEGV, mmdev_try_write(p, 2)) TH_LOG("write to a read-only mapping");
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(SIGSEGV, mmdev_try_write(p + PAGE, 2)) TH_LOG("write to an untouched read-only page");
	EXPECT_EQ(0, p[PAGE]);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(2, s.resident_pages) TH_LOG("the read took a page, the writes none");
	ASSERT_EQ(0, mprotect((void *)p, 4 * PAGE, PROT_NONE));
	EXPECT_EQ(SIGSEGV, mmdev_try_read(p));
	ASSERT_EQ(0, mprotect((void *)p, 4 * PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, mmdev_try_write(p, 3));
	EXPECT_EQ(0, mmdev_try_write(p + PAGE, 4));
	munmap((void *)p, 4 * PAGE);
	p = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)p);
	EXPECT_EQ(3, p[0]);
	EXPECT_EQ(4, p[PAGE]);
	close(fd);
	munmap((void *)p, 4 * PAGE);
}

/* A file opened read-only cannot be mapped shared and writable. */
TEST_F(mmdev, read_only_file_refuses_shared_write)
{
	unsigned char *p;
	int fd;

	fd = open(MMDEV_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, p[0]);
	munmap(p, PAGE);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("a private writable mapping needs no write access");
	p[0] = 1;
	munmap(p, PAGE);
	close(fd);
}

/*
 * mlock populates: every page resident right after mlock, without a touch;
 * MAP_LOCKED too; MLOCK_ONFAULT does not. Mlocked pages go back to mmlab,
 * and from there to the host, with no "Bad page" (PG_mlocked cleared).
 */
TEST_F(mmdev, mlock_populates)
{
	const size_t n = 64;
	struct mmlab_mmdev_stats s;
	char log[16384] = "";
	unsigned char *p;
	const char *bad;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.resident_pages);
	ASSERT_EQ(0, mlock(p, n * PAGE)) TH_LOG("mlock: %s", strerror(errno));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages) TH_LOG("mlock did not populate");
	EXPECT_EQ(n, s.alloc_faults);
	EXPECT_EQ(self->used0 + n, mmdev_used());
	EXPECT_EQ(n, mmdev_check_zero(p, n));
	mmdev_fill(p, n, 15);
	ASSERT_EQ(0, munlock(p, n * PAGE));
	EXPECT_EQ(n, mmdev_check(p, n, 15));
	ASSERT_EQ(0, mlock(p, n * PAGE));
	ASSERT_EQ(0, munmap(p, n * PAGE));	/* unmapped while locked */
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(0, s.busy_pages);

	/* MAP_LOCKED populates too (only up to the size: past it is SIGBUS) */
	ASSERT_EQ(0, mmdev_punch(fd, 0, n * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	ASSERT_EQ(0, s.resident_pages);
	p = mmap(NULL, 2 * n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.size_pages);
	EXPECT_EQ(n, s.resident_pages);
	munmap(p, 2 * n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, syscall(SYS_mlock2, p, n * PAGE, MLOCK_ONFAULT));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.resident_pages) TH_LOG("MLOCK_ONFAULT populated");
	p[0] = 1;
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.resident_pages);
	/* punch a locked page: it is unmapped, freed, and refaults zeroed */
	ASSERT_EQ(0, mmdev_punch(fd, 0, PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.busy_pages);
	EXPECT_EQ(0, s.resident_pages);
	EXPECT_EQ(0, p[0]);
	munmap(p, n * PAGE);
	close(fd);

	/* The pages back to the host: that is where a stale PG_mlocked shows. */
	EXPECT_EQ(self->used0, mmdev_used());
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
	ASSERT_LE(0, self->kmsg);
	mmlab_kmsg_read(self->kmsg, log, sizeof(log));
	bad = mmdev_kmsg_bad(log);
	EXPECT_TRUE(bad == NULL) TH_LOG("kernel log: %.300s", bad);
}

/* A process that exits with its pages mlocked leaves nothing behind. */
TEST_F(mmdev, mlocked_pages_at_exit)
{
	const size_t n = 32;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd, st;
	pid_t pid;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, n * PAGE));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
		if (p == MAP_FAILED)
			_exit(1);
		mmdev_fill(p, n, 16);
		_exit(0);	/* exit unmaps while locked */
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(0, s.mappings);
	p = mmap(NULL, n * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(n, mmdev_check(p, n, 16));
	munmap(p, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
}

TEST_F(mmdev, mremap_move_grow_shrink)
{
	struct mmlab_mmdev_stats s;
	unsigned char *p, *q, *hole;
	int fd, sig;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, 4, 17);

	/* move to a fixed place */
	hole = mmap(NULL, 16 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	q = mremap(p, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, hole + 8 * PAGE);
	ASSERT_EQ(hole + 8 * PAGE, q) TH_LOG("mremap: %s", strerror(errno));
	EXPECT_EQ(4, mmdev_check(q, 4, 17)) TH_LOG("moved pages lost their data");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(4, s.alloc_faults) TH_LOG("a move allocates nothing");
	EXPECT_EQ(1, s.mappings);

	/* grow within the region's size */
	p = mremap(q, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mremap grow: %s", strerror(errno));
	EXPECT_EQ(4, mmdev_check(p, 4, 17));
	EXPECT_EQ(4, mmdev_check_zero(p + 4 * PAGE, 4));
	EXPECT_EQ(0, mmdev_try_write(p + 7 * PAGE + 1, 1));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8, s.resident_pages);

	/* grow past it: the mapping may grow, touching there is SIGBUS */
	q = mremap(p, 8 * PAGE, 12 * PAGE, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, q) TH_LOG("mremap grow: %s", strerror(errno));
	sig = mmdev_try_write(q + 8 * PAGE, 1);
	EXPECT_EQ(SIGBUS, sig);
	EXPECT_EQ(1, q[7 * PAGE + 1]);

	/* shrink: unmapping the tail frees nothing */
	p = mremap(q, 12 * PAGE, 2 * PAGE, 0);
	ASSERT_EQ(q, p);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8, s.resident_pages);
	EXPECT_EQ(2, mmdev_check(p, 2, 17));
	munmap(p, 2 * PAGE);
	munmap(hole, 16 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

/* A region sized by its first mmap keeps that size when the mapping grows. */
TEST_F(mmdev, mremap_grow_past_first_mmap_size)
{
	unsigned char *p, *q;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[PAGE] = 1;
	q = mremap(p, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(1, q[PAGE]);
	EXPECT_EQ(SIGBUS, mmdev_try_read(q + 2 * PAGE));
	ASSERT_EQ(0, mmdev_set_size(fd, 4 * PAGE));
	EXPECT_EQ(0, mmdev_try_write(q + 3 * PAGE, 1)) TH_LOG("grown by SET_SIZE");
	munmap(q, 4 * PAGE);
	close(fd);
}

TEST_F(mmdev, msync_succeeds)
{
	const size_t n = 8;
	struct mmlab_mmdev_stats s;
	unsigned char *p, *pr;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 18);
	EXPECT_EQ(0, msync(p, n * PAGE, MS_SYNC)) TH_LOG("MS_SYNC: %s", strerror(errno));
	EXPECT_EQ(0, msync(p, n * PAGE, MS_ASYNC)) TH_LOG("MS_ASYNC: %s", strerror(errno));
	EXPECT_EQ(0, msync(p, n * PAGE, MS_INVALIDATE)) TH_LOG("MS_INVALIDATE: %s", strerror(errno));
	EXPECT_EQ(0, msync(p + PAGE, PAGE, MS_SYNC | MS_INVALIDATE)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, fsync(fd)) TH_LOG("fsync: %s", strerror(errno));
	EXPECT_EQ(0, fdatasync(fd)) TH_LOG("fdatasync: %s", strerror(errno));
	EXPECT_EQ(n, mmdev_check(p, n, 18));
	pr = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, pr);
	pr[0] = 0;
	EXPECT_EQ(0, msync(pr, n * PAGE, MS_SYNC));
	EXPECT_EQ(mmdev_pattern(0, 0, 18), p[0]) TH_LOG("msync of a private mapping wrote back");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(n, s.alloc_faults);
	munmap(p, n * PAGE);
	munmap(pr, n * PAGE);
	close(fd);
}

TEST_HARNESS_MAIN
