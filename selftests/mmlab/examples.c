// SPDX-License-Identifier: GPL-2.0
/*
 * examples - the /dev/mmlab example programs of examples/mmdev/ run as they
 * are and exit 0: each checks what it prints (resident pages after touching,
 * the fault log's last record, sharing across fork and by name, punch), so
 * an example that stops telling the truth fails here. vm-test.sh ships them
 * in /mmlab/examples/ (MMLAB_EXAMPLES overrides); a missing one fails.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"

#define EXAMPLES_DEFAULT	"/mmlab/examples"

/* Run one example with its output shown as TAP comments; its exit status. */
static int run_example(const char *name, char *why, size_t whylen)
{
	const char *dir = getenv("MMLAB_EXAMPLES") ?: EXAMPLES_DEFAULT;
	char path[256], line[512];
	int pipefd[2], status;
	pid_t pid;
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, X_OK)) {
		snprintf(why, whylen, "%s: %s (not shipped?)", path, strerror(errno));
		return -1;
	}
	if (pipe(pipefd)) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(path, name, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	out = fdopen(pipefd[0], "r");
	while (out && fgets(line, sizeof(line), out))
		printf("# %s: %s", name, line);
	if (out)
		fclose(out);
	if (waitpid(pid, &status, 0) != pid) {
		snprintf(why, whylen, "waitpid: %s", strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(status))
		snprintf(why, whylen, "%s killed by signal %d", name, WTERMSIG(status));
	else
		snprintf(why, whylen, "%s exited %d", name, WEXITSTATUS(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define EXAMPLE(name)							\
	TEST(name)							\
	{								\
		char why[320] = "";					\
		EXPECT_EQ(0, run_example(#name, why, sizeof(why)))	\
			TH_LOG("%s", why);				\
	}

EXAMPLE(map_touch)
EXAMPLE(share_child)
EXAMPLE(attach)
EXAMPLE(punch)

TEST_HARNESS_MAIN
