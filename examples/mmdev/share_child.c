// SPDX-License-Identifier: GPL-2.0
/*
 * share_child - MAP_SHARED and MAP_PRIVATE mappings of a region across fork.
 *
 * A child inherits its parent's mappings. Through the MAP_SHARED one, both
 * reach the region's pages, so what the child writes the parent reads. A
 * MAP_PRIVATE mapping of the same region reads the region too, but its
 * first write copies the page (copy-on-write): the region never sees it.
 *
 *   usage: share_child            (run as root)
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

/* Say what went wrong; "return fail(...)" makes the exit status say so too. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "share_child: FAIL: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int main(void)
{
	size_t page = sysconf(_SC_PAGESIZE), len = 2 * page;
	struct mmlab_mmdev_stats st;
	char *shared, *priv, want[64];
	int fd, status;
	pid_t child;

	fd = open("/dev/mmlab", O_RDWR);
	if (fd < 0)
		return fail("open /dev/mmlab: %s (is mmlab loaded? are you root?)", strerror(errno));
	/* Two pages, mapped twice: shared (sets the size) and private. */
	shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared == MAP_FAILED)
		return fail("mmap MAP_SHARED: %s", strerror(errno));
	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (priv == MAP_FAILED)
		return fail("mmap MAP_PRIVATE: %s", strerror(errno));
	strcpy(shared + page, "written by the parent");	/* page 1, in the region */

	fflush(stdout);		/* else the child would print our buffer again */
	child = fork();
	if (child < 0)
		return fail("fork: %s", strerror(errno));
	if (child == 0) {
		/* Page 0 through the shared mapping: lands in the region. */
		sprintf(shared, "hello from child %d", (int)getpid());
		/* Page 1 through the private mapping: reads see the region... */
		if (strcmp(priv + page, "written by the parent") != 0)
			_exit(fail("MAP_PRIVATE does not read the region"));
		/* ...and this write makes the child a private copy of the page. */
		strcpy(priv + page, "the child's private copy");
		printf("child %d: wrote page 0 (shared) and page 1 (private): \"%s\"\n",
		       (int)getpid(), priv + page);
		fflush(stdout);	/* _exit() does not flush stdio */
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail("child status 0x%x", status);

	/* The parent's shared view: the child's shared write, not its private one. */
	printf("parent sees page 0: \"%s\"\n", shared);
	printf("parent sees page 1: \"%s\"\n", shared + page);
	snprintf(want, sizeof(want), "hello from child %d", (int)child);
	if (strcmp(shared, want) != 0)
		return fail("the child's shared write is missing");
	if (strcmp(shared + page, "written by the parent") != 0)
		return fail("a MAP_PRIVATE write reached the region");

	/* The copy was the kernel's anonymous page: the region still holds two. */
	if (ioctl(fd, MMLAB_IOC_STATS, &st))
		return fail("MMLAB_IOC_STATS: %s", strerror(errno));
	printf("region %llu: %llu pages resident, %llu mappings\n",
	       st.id, st.resident_pages, st.mappings);
	if (st.resident_pages != 2)
		return fail("want 2 resident pages");

	munmap(priv, len);
	munmap(shared, len);
	close(fd);
	printf("ok\n");
	return 0;
}
