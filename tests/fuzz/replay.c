/*
 * The replay driver: runs a fuzz harness's LLVMFuzzerTestOneInput() on
 * every file of its committed corpus and crash directories, so that
 * `make check` (the normal and the ASan/UBSan build alike) proves that
 * no input ever found, crash or not, breaks the code again.
 *
 *   fuzz_NAME [DIR|FILE ...]
 *
 * Without arguments the directories are $BW_SRCDIR/tests/fuzz/corpus/NAME
 * and $BW_SRCDIR/tests/fuzz/crashes/NAME (NAME: this program's name; a
 * missing crash directory is skipped).  TAP, one line per directory or
 * file argument.  Each runs in a child process, so that a crash, a
 * sanitizer report or a leak (reported at the child's exit) fails that
 * line and names the input it happened on; the child has
 * REPLAY_TIMEOUT_S to finish.
 */
#include "bw_autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_TIMEOUT_S	300	/* one directory, sanitizers included */
#define REPLAY_FILES_MAX	10000	/* files taken from one directory */
#define REPLAY_TARGETS_MAX	64	/* arguments */

struct replay_set {
	char	 label[PATH_MAX];
	char	**files;	/* full paths, sorted */
	size_t	 nfiles;
};

static int
replay_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
replay_set_free(struct replay_set *set)
{
	size_t	 i;

	for (i = 0; i < set->nfiles; i++)
		free(set->files[i]);
	free(set->files);
	set->files = NULL;
	set->nfiles = 0;
}

static int
replay_set_add(struct replay_set *set, const char *path)
{
	char	**nf;

	if (set->nfiles >= REPLAY_FILES_MAX)
		return -1;
	if ((nf = realloc(set->files, (set->nfiles + 1) *
	    sizeof(*nf))) == NULL)
		return -1;
	set->files = nf;
	if ((set->files[set->nfiles] = strdup(path)) == NULL)
		return -1;
	set->nfiles++;
	return 0;
}

/* A directory's regular files (not dot files), or one file; -1 missing. */
static int
replay_set_load(struct replay_set *set, const char *path, const char *label)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		 p[PATH_MAX];

	memset(set, 0, sizeof(*set));
	snprintf(set->label, sizeof(set->label), "%s", label);
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return replay_set_add(set, path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", path,
		    de->d_name) >= sizeof(p) || stat(p, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (replay_set_add(set, p) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (set->nfiles > 1)
		qsort(set->files, set->nfiles, sizeof(*set->files),
		    replay_name_cmp);
	return 0;
}

/* One input, in a buffer of exactly its size (ASan sees overreads). */
static int
replay_one(const char *path)
{
	FILE		*fp;
	uint8_t		*buf, *exact;
	size_t		 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if ((buf = malloc(FUZZ_INPUT_MAX)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, FUZZ_INPUT_MAX, fp);
	fclose(fp);
	if ((exact = malloc(n > 0 ? n : 1)) == NULL) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

/* Child: every file, telling the parent which one it starts. */
static void
replay_child(const struct replay_set *set, int wfd)
{
	uint32_t	 i;

	alarm(REPLAY_TIMEOUT_S);
	for (i = 0; i < set->nfiles; i++) {
		if (write(wfd, &i, sizeof(i)) != sizeof(i))
			_exit(3);
		if (replay_one(set->files[i]) == -1) {
			fprintf(stderr, "replay: cannot read %s: %s\n",
			    set->files[i], strerror(errno));
			exit(4);
		}
	}
	close(wfd);
	/* exit(), not _exit(): LeakSanitizer checks here */
	exit(0);
}

/* One TAP line for one set; 0 ok, 1 not ok. */
static int
replay_set_run(const struct replay_set *set, int num)
{
	int		 fds[2], status;
	uint32_t	 idx, last = 0;
	int		 started = 0;
	pid_t		 pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) == -1 || (pid = fork()) == -1) {
		printf("not ok %d - %s: cannot fork: %s\n", num, set->label,
		    strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		replay_child(set, fds[1]);
	}
	close(fds[1]);
	while (read(fds[0], &idx, sizeof(idx)) == sizeof(idx)) {
		last = idx;
		started = 1;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %d - %s: %zu inputs\n", num, set->label,
		    set->nfiles);
		return 0;
	}
	printf("not ok %d - %s: ", num, set->label);
	if (WIFSIGNALED(status))
		printf("signal %d", WTERMSIG(status));
	else
		printf("exit %d", WEXITSTATUS(status));
	if (started && last < set->nfiles)
		printf(" on %s", set->files[last]);
	printf("\n# a crash, a sanitizer report (see the log above) or a "
	    "leak at exit\n");
	return 1;
}

int
main(int argc, char *argv[])
{
	struct replay_set	 sets[REPLAY_TARGETS_MAX];
	const char		*name, *top;
	char			 path[PATH_MAX];
	int			 i, n = 0, failed = 0;

	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	if (argc > REPLAY_TARGETS_MAX + 1) {
		fprintf(stderr, "usage: %s [DIR|FILE ...] (at most %d)\n",
		    name, REPLAY_TARGETS_MAX);
		return 2;
	}
	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (replay_set_load(&sets[n], argv[i],
			    argv[i]) == -1) {
				fprintf(stderr, "%s: cannot read %s\n", name,
				    argv[i]);
				return 2;
			}
			n++;
		}
	} else {
		if ((top = getenv("BW_SRCDIR")) == NULL) {
			fprintf(stderr, "usage: %s DIR|FILE ... "
			    "(or BW_SRCDIR set)\n", name);
			return 2;
		}
		snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", top,
		    name);
		if (replay_set_load(&sets[n], path, path + strlen(top) +
		    1) == -1) {
			fprintf(stderr, "%s: no corpus at %s\n", name, path);
			return 2;
		}
		n++;
		snprintf(path, sizeof(path), "%s/tests/fuzz/crashes/%s", top,
		    name);
		if (replay_set_load(&sets[n], path, path + strlen(top) +
		    1) == 0)
			n++;
		else
			replay_set_free(&sets[n]);
	}
	printf("1..%d\n", n);
	for (i = 0; i < n; i++) {
		failed += replay_set_run(&sets[i], i + 1);
		replay_set_free(&sets[i]);
	}
	return failed > 0;
}
