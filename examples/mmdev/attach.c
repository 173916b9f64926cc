// SPDX-License-Identifier: GPL-2.0
/*
 * attach - share a region between unrelated processes by name, the
 * shm_open() analogue.
 *
 * The owner maps a region, writes into it and names it (MMLAB_IOC_NAME).
 * Then it starts a reader by fork + exec of this same program: after exec
 * the reader has none of the owner's mappings or files (the fd is
 * O_CLOEXEC). The reader opens /dev/mmlab afresh, attaches by name
 * (MMLAB_IOC_ATTACH), maps, reads the owner's text and writes a reply.
 * Unlike shm_open there is no unlink: the name goes with the region's last
 * file, which we check at the end.
 *
 *   usage: attach                 (run as root; "attach read NAME" is the reader)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <mmlab/mmdev.h>	/* cc -I<mmlab>/include */

#define REPLY_AT	2048	/* where the reader writes its reply */

/* Say what went wrong; "return fail(...)" makes the exit status say so too. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "attach: FAIL: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* The second process: it finds the region by its name only. */
static int reader(const char *name)
{
	struct mmlab_mmdev_name n = { { 0 } };
	struct mmlab_mmdev_stats st;
	int fd = open("/dev/mmlab", O_RDWR);
	char *p;

	strncpy(n.name, name, sizeof(n.name) - 1);
	if (fd < 0)
		return fail("reader: open /dev/mmlab: %s", strerror(errno));
	if (ioctl(fd, MMLAB_IOC_ATTACH, &n))	/* fd now refers to that region */
		return fail("reader: MMLAB_IOC_ATTACH: %s", strerror(errno));
	if (ioctl(fd, MMLAB_IOC_STATS, &st))
		return fail("reader: MMLAB_IOC_STATS: %s", strerror(errno));
	printf("reader %d: attached to \"%s\": region %llu, %llu pages, %llu files\n",
	       (int)getpid(), name, st.id, st.size_pages, st.files);
	p = mmap(NULL, st.size_pages * sysconf(_SC_PAGESIZE),
		 PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("reader: mmap: %s", strerror(errno));
	printf("reader %d: reads \"%s\"\n", (int)getpid(), p);
	if (strncmp(p, "hello from owner ", 17) != 0)
		return fail("the owner's text is missing");
	sprintf(p + REPLY_AT, "reply from reader %d", (int)getpid());
	return 0;	/* exit unmaps and closes; the owner's file keeps the region */
}

int main(int argc, char **argv)
{
	size_t len = 4 * sysconf(_SC_PAGESIZE);
	struct mmlab_mmdev_name n = { { 0 } };
	char *p, want[64];
	int fd, status;
	pid_t child;

	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return reader(argv[2]);

	fd = open("/dev/mmlab", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open /dev/mmlab: %s (is mmlab loaded? are you root?)", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap: %s", strerror(errno));
	sprintf(p, "hello from owner %d", (int)getpid());
	/* Names are [A-Za-z0-9_.-]{1,31} and unique: put our pid in it. */
	snprintf(n.name, sizeof(n.name), "example.attach.%d", (int)getpid());
	if (ioctl(fd, MMLAB_IOC_NAME, &n))
		return fail("MMLAB_IOC_NAME: %s", strerror(errno));
	printf("owner %d: wrote \"%s\", named the region \"%s\"\n", (int)getpid(), p, n.name);

	fflush(stdout);
	child = fork();
	if (child < 0)
		return fail("fork: %s", strerror(errno));
	if (child == 0) {
		execl("/proc/self/exe", argv[0], "read", n.name, (char *)NULL);
		_exit(fail("exec /proc/self/exe: %s", strerror(errno)));
	}
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail("reader status 0x%x", status);
	printf("owner %d: reads \"%s\"\n", (int)getpid(), p + REPLY_AT);
	snprintf(want, sizeof(want), "reply from reader %d", (int)child);
	if (strcmp(p + REPLY_AT, want) != 0)
		return fail("the reader's reply is missing");

	/* Our last file and mapping go: so do the region and its name. */
	munmap(p, len);
	close(fd);
	fd = open("/dev/mmlab", O_RDWR);
	if (fd < 0)
		return fail("open /dev/mmlab: %s", strerror(errno));
	if (ioctl(fd, MMLAB_IOC_ATTACH, &n) == 0 || errno != ENOENT)
		return fail("\"%s\" outlived its region", n.name);
	printf("owner: after the last close, attaching \"%s\" fails: %s\n",
	       n.name, strerror(errno));
	close(fd);
	printf("ok\n");
	return 0;
}
