// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev_gup - /dev/mmlab pages are ordinary refcounted pages, so every
 * get_user_pages path works on a mapping: write() from it into a pipe and
 * read() into it, vmsplice (which keeps page references in the pipe),
 * process_vm_readv/writev, /proc/pid/mem (including the FOLL_FORCE rules),
 * and O_DIRECT to and from a block device (brd, loaded from /lib/mmlab/brd.ko
 * when /dev/ram0 is missing; vm-test.sh puts it there). A page that is
 * still referenced is never handed back to mmlab: PUNCH leaves it busy,
 * close leaves the region (and the module) until the reference is gone.
 */
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

#define BRD_KO_DEFAULT	"/lib/mmlab/brd.ko"
#define RAMDISK		"/dev/ram0"

TEST_F(mmdev, write_to_pipe_from_mapping)
{
	const size_t n = 8;
	struct mmlab_mmdev_stats s;
	unsigned char *p, *buf;
	int fd, pfd[2];

	buf = malloc(n * PAGE);
	ASSERT_NE(NULL, buf);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 3 * n * PAGE));
	p = mmap(NULL, 3 * n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 30);
	ASSERT_EQ(0, pipe(pfd));

	/* from the mapping into the pipe, and back out */
	ASSERT_EQ((ssize_t)(n * PAGE), write(pfd[1], p, n * PAGE)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ((ssize_t)(n * PAGE), read(pfd[0], buf, n * PAGE));
	EXPECT_EQ(n, mmdev_check(buf, n, 30));

	/* from pages never touched: they fault in, zeroed */
	memset(buf, 0xff, n * PAGE);
	ASSERT_EQ((ssize_t)(n * PAGE), write(pfd[1], p + n * PAGE, n * PAGE));
	ASSERT_EQ((ssize_t)(n * PAGE), read(pfd[0], buf, n * PAGE));
	EXPECT_EQ(n, mmdev_check_zero(buf, n));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(2 * n, s.resident_pages);

	/* from the pipe into untouched pages of the mapping */
	mmdev_fill(buf, n, 31);
	ASSERT_EQ((ssize_t)(n * PAGE), write(pfd[1], buf, n * PAGE));
	ASSERT_EQ((ssize_t)(n * PAGE), read(pfd[0], p + 2 * n * PAGE, n * PAGE));
	EXPECT_EQ(n, mmdev_check(p + 2 * n * PAGE, n, 31));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(3 * n, s.resident_pages);
	EXPECT_EQ(3 * n, s.alloc_faults);
	close(pfd[0]);
	close(pfd[1]);
	munmap(p, 3 * n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	free(buf);
}

/*
 * vmsplice puts references to the mapping's pages into the pipe (GUP).
 * PUNCH then unmaps them but must not free them: they are busy, still
 * counted as used, and the pipe still reads the old data. Once the pipe
 * lets go, the next punch retries and frees them.
 */
TEST_F(mmdev, vmsplice_pinned_pages_survive_punch)
{
	const size_t n = 4;
	struct mmlab_mmdev_stats s;
	struct iovec iov;
	unsigned char *p, *buf;
	int fd, pfd[2];

	buf = malloc(n * PAGE);
	ASSERT_NE(NULL, buf);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, 2 * n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 32);
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = p;
	iov.iov_len = n * PAGE;
	ASSERT_EQ((ssize_t)(n * PAGE), vmsplice(pfd[1], &iov, 1, 0)) TH_LOG("vmsplice: %s",
									strerror(errno));
	ASSERT_EQ(0, mmdev_punch(fd, 0, n * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.resident_pages);
	EXPECT_EQ(n, s.busy_pages) TH_LOG("pages referenced by the pipe were not kept busy");
	EXPECT_EQ(self->used0 + n, mmdev_used()) TH_LOG("a pinned page went back to mmlab");
	/* the mapping gets new zeroed pages, not the pinned ones */
	EXPECT_EQ(0, p[0]);
	p[0] = 0x99;
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.resident_pages);
	EXPECT_EQ(self->used0 + n + 1, mmdev_used());
	/* the pipe still holds the old pages, intact */
	ASSERT_EQ((ssize_t)(n * PAGE), read(pfd[0], buf, n * PAGE));
	EXPECT_EQ(n, mmdev_check(buf, n, 32)) TH_LOG("a pinned page was reused or zeroed");
	close(pfd[0]);
	close(pfd[1]);
	/* nothing holds them now: a later punch (of anything) frees them */
	ASSERT_EQ(0, mmdev_punch(fd, n * PAGE, PAGE));
	EXPECT_EQ(self->used0 + 1, mmdev_wait_stat("used_pages", self->used0 + 1, 2000))
		TH_LOG("busy pages not freed once unreferenced");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.busy_pages);
	EXPECT_EQ(0x99, p[0]);
	munmap(p, 2 * n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	free(buf);
}

/*
 * Closed and unmapped while a pipe still references its pages: the region
 * (and a module reference) stays until the pipe lets go, then everything
 * goes back within a few retries.
 */
TEST_F(mmdev, pinned_region_outlives_close)
{
	const size_t n = 4;
	uint64_t regions0 = mmdev_stat("regions");
	long base = self->refcnt;
	struct iovec iov;
	unsigned char *p, *buf;
	int fd, pfd[2];

	buf = malloc(n * PAGE);
	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, base);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 33);
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = p;
	iov.iov_len = n * PAGE;
	ASSERT_EQ((ssize_t)(n * PAGE), vmsplice(pfd[1], &iov, 1, 0));
	munmap(p, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0 + n, mmdev_used()) TH_LOG("pinned pages freed at close");
	EXPECT_EQ(regions0 + 1, mmdev_stat("regions"));
	ASSERT_EQ((ssize_t)(n * PAGE), read(pfd[0], buf, n * PAGE));
	EXPECT_EQ(n, mmdev_check(buf, n, 33));
	close(pfd[0]);
	close(pfd[1]);
	EXPECT_EQ(self->used0, mmdev_wait_stat("used_pages", self->used0, 3000))
		TH_LOG("pages not back after the pipe let go");
	EXPECT_EQ(regions0, mmdev_wait_stat("regions", regions0, 1000));
	EXPECT_EQ(self->committed0, mmdev_stat("committed_pages"));
	EXPECT_EQ(base, mmdev_wait_refcnt(base, 2000)) TH_LOG("module reference kept");
	free(buf);
}

/*
 * While a closed region waits for pinned pages, the module must stay
 * pinned too, so that rmmod is refused (EBUSY) as while a region is open.
 * Otherwise delete_module passes the refcount check, deregisters the
 * device and then sleeps in mmlab's exit until the pin goes - forever if
 * the pin is a pipe that the rmmod caller itself holds. (Not tried here:
 * the fixture's control file pins the module anyway, so only the refcount
 * can be compared.)
 */
TEST_F(mmdev, module_pinned_while_closed_region_has_pins)
{
	long base = self->refcnt;
	struct iovec iov;
	unsigned char *p;
	char buf[PAGE];
	int fd, pfd[2];

	ASSERT_LE(0, base);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = p;
	iov.iov_len = PAGE;
	ASSERT_EQ((ssize_t)PAGE, vmsplice(pfd[1], &iov, 1, 0));
	munmap(p, PAGE);
	close(fd);
	EXPECT_EQ(base + 1, mmdev_module_refcnt())
		TH_LOG("no module reference for the closed region's pinned page: rmmod would hang in mmlab's exit instead of failing with EBUSY");
	ASSERT_EQ((ssize_t)PAGE, read(pfd[0], buf, PAGE));
	EXPECT_EQ(1, buf[0]);
	close(pfd[0]);
	close(pfd[1]);
	EXPECT_EQ(self->used0, mmdev_wait_stat("used_pages", self->used0, 3000));
	EXPECT_EQ(base, mmdev_wait_refcnt(base, 2000));
}

static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * process_vm_readv/writev against another process's mapping of the region:
 * reads its data, writes land in the region (seen through our mapping), an
 * untouched page faults in zeroed, and a range running past the size stops
 * there (a partial transfer).
 */
TEST_F(mmdev, process_vm_readv_writev)
{
	const size_t n = 8;
	struct mmlab_mmdev_stats s;
	struct iovec local, remote;
	int fd, up[2], down[2];
	unsigned char *p, *buf, *q;
	pid_t pid;
	char c;

	buf = malloc(2 * PAGE * n);
	ASSERT_NE(NULL, buf);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, n * PAGE));
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* a mapping of its own, somewhere else, two pages past the size */
		q = mmap(NULL, (n + 2) * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (q == MAP_FAILED)
			_exit(1);
		mmdev_fill(q, 4, 34);
		if (write(up[1], &q, sizeof(q)) != sizeof(q) || read(down[0], &c, 1) != 1)
			_exit(2);
		_exit(mmdev_check(q + 4 * PAGE, 2, 35) == 2 ? 0 : 3);
	}
	ASSERT_EQ(sizeof(q), read(up[0], &q, sizeof(q)));

	local = (struct iovec){ buf, 4 * PAGE };
	remote = (struct iovec){ q, 4 * PAGE };
	EXPECT_EQ((ssize_t)(4 * PAGE), process_vm_readv(pid, &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_readv: %s", strerror(errno));
	EXPECT_EQ(4, mmdev_check(buf, 4, 34));

	mmdev_fill(buf, 2, 35);
	local = (struct iovec){ buf, 2 * PAGE };
	remote = (struct iovec){ q + 4 * PAGE, 2 * PAGE };
	EXPECT_EQ((ssize_t)(2 * PAGE), process_vm_writev(pid, &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_writev: %s", strerror(errno));
	EXPECT_EQ(2, mmdev_check(p + 4 * PAGE, 2, 35)) TH_LOG("the write did not reach the region");

	memset(buf, 0xff, PAGE);
	local = (struct iovec){ buf, PAGE };
	remote = (struct iovec){ q + 6 * PAGE, PAGE };
	EXPECT_EQ((ssize_t)PAGE, process_vm_readv(pid, &local, 1, &remote, 1, 0));
	EXPECT_EQ(1, mmdev_check_zero(buf, 1));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(7, s.resident_pages) TH_LOG("GUP faulted the untouched page in");

	local = (struct iovec){ buf, 3 * PAGE };
	remote = (struct iovec){ q + 7 * PAGE, 3 * PAGE };
	EXPECT_EQ((ssize_t)PAGE, process_vm_readv(pid, &local, 1, &remote, 1, 0))
		TH_LOG("past the size: %s", strerror(errno));

	ASSERT_EQ(1, write(down[1], "g", 1));
	EXPECT_EQ(0, child_status(pid));
	munmap(p, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	free(buf);
}

/*
 * /proc/self/mem: reads and writes the mapping (FOLL_FORCE GUP); a forced
 * write to a read-only shared mapping is refused (EIO) and changes nothing;
 * to a read-only private mapping it makes a private copy.
 */
TEST_F(mmdev, proc_pid_mem)
{
	struct mmlab_mmdev_stats s;
	unsigned char *p, *ro, *pr, buf[2 * PAGE];
	int fd, mfd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, 2, 36);
	mfd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mfd);
	EXPECT_EQ((ssize_t)(2 * PAGE), pread(mfd, buf, 2 * PAGE, (off_t)(uintptr_t)p));
	EXPECT_EQ(2, mmdev_check(buf, 2, 36));
	mmdev_fill(buf, 1, 37);
	EXPECT_EQ((ssize_t)PAGE, pwrite(mfd, buf, PAGE, (off_t)(uintptr_t)(p + 2 * PAGE)));
	EXPECT_EQ(1, mmdev_check(p + 2 * PAGE, 1, 37));
	memset(buf, 0xff, PAGE);
	EXPECT_EQ((ssize_t)PAGE, pread(mfd, buf, PAGE, (off_t)(uintptr_t)(p + 3 * PAGE)));
	EXPECT_EQ(1, mmdev_check_zero(buf, 1));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(4, s.resident_pages);

	ro = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, pwrite(mfd, "X", 1, (off_t)(uintptr_t)ro));
	EXPECT_EQ(EIO, errno) TH_LOG("forced write to a read-only shared mapping");
	EXPECT_EQ(mmdev_pattern(0, 0, 36), p[0]);

	pr = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, pr);
	EXPECT_EQ(1, pwrite(mfd, "X", 1, (off_t)(uintptr_t)pr)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ('X', pr[0]);
	EXPECT_EQ(mmdev_pattern(0, 0, 36), p[0]) TH_LOG("a forced private write reached the region");
	close(mfd);
	munmap(p, 4 * PAGE);
	munmap(ro, 4 * PAGE);
	munmap(pr, 4 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

/* /dev/ram0, loading brd first if needed: 0, or -errno with why. */
static int ramdisk(char *why, size_t cap)
{
	const char *ko = getenv("MMLAB_BRD_KO");
	int fd, i;

	if (!access(RAMDISK, F_OK))
		return 0;
	if (!ko || !*ko)
		ko = BRD_KO_DEFAULT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, cap, "no %s and %s: %s (vm-test.sh puts brd.ko there)", RAMDISK,
			 ko, strerror(errno));
		return -errno;
	}
	if (syscall(SYS_finit_module, fd, "rd_nr=1 rd_size=4096 max_part=0", 0) &&
	    errno != EEXIST) {
		snprintf(why, cap, "finit_module %s: %s", ko, strerror(errno));
		close(fd);
		return -errno;
	}
	close(fd);
	for (i = 0; i < 200 && access(RAMDISK, F_OK); i++)
		usleep(10 * 1000);
	if (access(RAMDISK, F_OK)) {
		snprintf(why, cap, "brd loaded but no %s", RAMDISK);
		return -ENODEV;
	}
	return 0;
}

/*
 * O_DIRECT from the mapping to a block device and back into untouched
 * pages of the mapping (the block layer pins them with GUP and the device
 * writes them), checked again through the page cache; no page stays busy.
 */
TEST_F(mmdev, o_direct_to_and_from_block_device)
{
	const size_t n = 64;
	struct mmlab_mmdev_stats s;
	unsigned char *p, *buf;
	int fd, bfd, cfd;

	ASSERT_EQ(0, ramdisk(self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	buf = malloc(n * PAGE);
	ASSERT_NE(NULL, buf);
	bfd = open(RAMDISK, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, bfd) TH_LOG("open %s O_DIRECT: %s", RAMDISK, strerror(errno));
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, 2 * n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 38);

	ASSERT_EQ((ssize_t)(n * PAGE), pwrite(bfd, p, n * PAGE, 0))
		TH_LOG("O_DIRECT write from the mapping: %s", strerror(errno));
	ASSERT_EQ((ssize_t)(n * PAGE), pread(bfd, p + n * PAGE, n * PAGE, 0))
		TH_LOG("O_DIRECT read into the mapping: %s", strerror(errno));
	EXPECT_EQ(n, mmdev_check(p + n * PAGE, n, 38));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(2 * n, s.resident_pages) TH_LOG("the read faulted in the untouched half");
	EXPECT_EQ(2 * n, s.alloc_faults);

	/* what reached the device, through the page cache */
	cfd = open(RAMDISK, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, cfd);
	ASSERT_EQ((ssize_t)(n * PAGE), pread(cfd, buf, n * PAGE, 0));
	EXPECT_EQ(n, mmdev_check(buf, n, 38));
	close(cfd);

	/* the pins are gone: punching frees every page at once */
	ASSERT_EQ(0, mmdev_punch(fd, 0, 2 * n * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.busy_pages) TH_LOG("O_DIRECT left pages referenced");
	EXPECT_EQ(self->used0, mmdev_used());
	/* and O_DIRECT writes zeros from a punched (refaulted) page */
	ASSERT_EQ((ssize_t)PAGE, pwrite(bfd, p, PAGE, 0));
	ASSERT_EQ((ssize_t)PAGE, pread(bfd, p + PAGE, PAGE, 0));
	EXPECT_EQ(1, mmdev_check_zero(p + PAGE, 1));
	munmap(p, 2 * n * PAGE);
	close(fd);
	close(bfd);
	EXPECT_EQ(self->used0, mmdev_used());
	free(buf);
}

TEST_HARNESS_MAIN
