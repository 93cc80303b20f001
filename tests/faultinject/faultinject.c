/*
 * Fault injection for the integration tests: a shared object LD_PRELOADed
 * into a daemon (queued) that makes chosen calls of fsync(), fdatasync(),
 * pwrite() or write() fail, or kills the process around one of them, so
 * that a test can put the daemon through a storage failure at a moment it
 * picks.  Never installed; built only by "make check".
 *
 * Selected by environment variables (nothing set: every call passes):
 *   BW_FAULT_FUNCS   comma list of fsync,fdatasync,pwrite,write
 *   BW_FAULT_PATH    only calls on a descriptor whose path (readlink of
 *                    /proc/self/fd/N) contains this text
 *   BW_FAULT_ARM     a file name: calls count only while this file exists,
 *                    so the test arms the fault when it is ready
 *   BW_FAULT_NTH     the first matching call that is hit (from 1; default 1)
 *   BW_FAULT_TIMES   how many matching calls from there are hit (default 1,
 *                    0: every one after)
 *   BW_FAULT_ERRNO   EIO (default) or ENOSPC
 *   BW_FAULT_ACTION  fail (default: return -1 with that errno, the real
 *                    call is not made), kill-before (SIGKILL before the real
 *                    call) or kill-after (SIGKILL after it returned)
 *   BW_FAULT_LOG     a file to which one line is appended per hit
 *
 * Calls made inside the C library (stdio) are not seen; the daemon's own
 * calls and Berkeley DB's are.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FI_PATH_MAX	4096

enum fi_func { FI_FSYNC, FI_FDATASYNC, FI_PWRITE, FI_WRITE, FI__COUNT };
enum fi_action { FI_FAIL, FI_KILL_BEFORE, FI_KILL_AFTER };

static const char *const fi_names[FI__COUNT] = {
	"fsync", "fdatasync", "pwrite", "write"
};

static int		 fi_ready;
static int		 fi_on[FI__COUNT];
static const char	*fi_path;
static const char	*fi_arm;
static const char	*fi_log;
static unsigned long	 fi_nth = 1;
static unsigned long	 fi_times = 1;
static int		 fi_errno = EIO;
static enum fi_action	 fi_action = FI_FAIL;
static unsigned long	 fi_count;	/* matching calls so far (atomic) */
static __thread int	 fi_inside;	/* our own write() of the log line */

static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static ssize_t	(*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t	(*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t	(*real_write)(int, const void *, size_t);

static void fi_setup(void) __attribute__((constructor));

/* At load time, before the daemon starts threads; again (a no-op) from
 * each wrapper in case a call comes before the constructors ran. */
static void
fi_setup(void)
{
	const char	*v, *p;
	size_t		 i, n;

	if (fi_ready)
		return;
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))
	    dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = (ssize_t (*)(int, const void *, size_t, off64_t))
	    dlsym(RTLD_NEXT, "pwrite64");
	real_write = (ssize_t (*)(int, const void *, size_t))
	    dlsym(RTLD_NEXT, "write");
	if ((v = getenv("BW_FAULT_FUNCS")) != NULL) {
		for (p = v; *p != '\0'; p += n + (p[n] == ',')) {
			n = strcspn(p, ",");
			for (i = 0; i < FI__COUNT; i++)
				if (strlen(fi_names[i]) == n &&
				    strncmp(p, fi_names[i], n) == 0)
					fi_on[i] = 1;
		}
	}
	fi_path = getenv("BW_FAULT_PATH");
	fi_arm = getenv("BW_FAULT_ARM");
	fi_log = getenv("BW_FAULT_LOG");
	if ((v = getenv("BW_FAULT_NTH")) != NULL && atol(v) > 0)
		fi_nth = (unsigned long)atol(v);
	if ((v = getenv("BW_FAULT_TIMES")) != NULL && atol(v) >= 0)
		fi_times = (unsigned long)atol(v);
	if ((v = getenv("BW_FAULT_ERRNO")) != NULL && strcmp(v, "ENOSPC") == 0)
		fi_errno = ENOSPC;
	if ((v = getenv("BW_FAULT_ACTION")) != NULL) {
		if (strcmp(v, "kill-before") == 0)
			fi_action = FI_KILL_BEFORE;
		else if (strcmp(v, "kill-after") == 0)
			fi_action = FI_KILL_AFTER;
	}
	fi_ready = 1;
}

static void
fi_note(enum fi_func f, int fd, const char *path, unsigned long nth)
{
	char	 line[FI_PATH_MAX + 128];
	int	 lfd, n;

	if (fi_log == NULL)
		return;
	n = snprintf(line, sizeof(line), "pid=%ld %s fd=%d path=%s call=%lu "
	    "action=%d\n", (long)getpid(), fi_names[f], fd, path, nth,
	    (int)fi_action);
	if (n < 0 || (lfd = open(fi_log, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) == -1)
		return;
	fi_inside = 1;
	(void)real_write(lfd, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
	fi_inside = 0;
	close(lfd);
}

/* 1 when this call of f on fd is to be hit. */
static int
fi_hit(enum fi_func f, int fd)
{
	char		 link[64], path[FI_PATH_MAX];
	ssize_t		 n;
	unsigned long	 nth;

	fi_setup();
	if (!fi_on[f] || fi_inside)
		return 0;
	if (fi_arm != NULL && access(fi_arm, F_OK) != 0)
		return 0;
	path[0] = '\0';
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) >= 0)
		path[n] = '\0';
	if (fi_path != NULL && strstr(path, fi_path) == NULL)
		return 0;
	nth = __atomic_add_fetch(&fi_count, 1, __ATOMIC_SEQ_CST);
	if (nth < fi_nth || (fi_times > 0 && nth >= fi_nth + fi_times))
		return 0;
	fi_note(f, fd, path, nth);
	if (fi_action == FI_KILL_BEFORE)
		raise(SIGKILL);
	return 1;
}

static void
fi_after(void)
{
	if (fi_action == FI_KILL_AFTER)
		raise(SIGKILL);
}

int
fsync(int fd)
{
	int	 r;

	if (fi_hit(FI_FSYNC, fd)) {
		if (fi_action == FI_FAIL) {
			errno = fi_errno;
			return -1;
		}
		r = real_fsync(fd);
		fi_after();
		return r;
	}
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	int	 r;

	if (fi_hit(FI_FDATASYNC, fd)) {
		if (fi_action == FI_FAIL) {
			errno = fi_errno;
			return -1;
		}
		r = real_fdatasync(fd);
		fi_after();
		return r;
	}
	return real_fdatasync(fd);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t	 r;

	if (fi_hit(FI_PWRITE, fd)) {
		if (fi_action == FI_FAIL) {
			errno = fi_errno;
			return -1;
		}
		r = real_pwrite(fd, buf, len, off);
		fi_after();
		return r;
	}
	return real_pwrite(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	ssize_t	 r;

	if (fi_hit(FI_PWRITE, fd)) {
		if (fi_action == FI_FAIL) {
			errno = fi_errno;
			return -1;
		}
		r = real_pwrite64(fd, buf, len, off);
		fi_after();
		return r;
	}
	return real_pwrite64(fd, buf, len, off);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t	 r;

	if (fi_hit(FI_WRITE, fd)) {
		if (fi_action == FI_FAIL) {
			errno = fi_errno;
			return -1;
		}
		r = real_write(fd, buf, len);
		fi_after();
		return r;
	}
	return real_write(fd, buf, len);
}
