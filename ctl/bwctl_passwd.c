/*
 * `bwctl passwd USER [view|act]`: a line for the monitor's password file
 * (monitor_password_file), printed on stdout for the administrator to put
 * there; nothing is written and controld is not asked.  The password is
 * read from stdin, without echo when stdin is a terminal (twice, to catch
 * a typing mistake).  The hash is PBKDF2-HMAC-SHA256 with a random salt
 * (controld_http_auth.c checks it).
 */
#include "bw_autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bwctl.h"

#define BWCTL_PASSWD_ITER	200000	/* about 0.1 s a check: once per
					   login, Basic is cached */
#define BWCTL_PASSWD_SALT	16
#define BWCTL_PASSWD_KEY	32
#define BWCTL_PASSWD_MAX	256	/* controld's MON_PASSWORD_MAX */
#define BWCTL_USER_MAX		63

/* One line from stdin, without echo on a terminal; -1 at EOF or if
 * too long. */
static int
bwctl_passwd_read(const char *prompt, char *dst, size_t dstsz)
{
	struct termios	 old, quiet;
	int		 tty = isatty(STDIN_FILENO), ok;
	size_t		 len;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == -1)
			return -1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ok = fgets(dst, (int)dstsz, stdin) != NULL;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!ok)
		return -1;
	len = strlen(dst);
	if (len > 0 && dst[len - 1] == '\n')
		dst[--len] = '\0';
	else if (!feof(stdin))
		return -1;
	if (len > 0 && dst[len - 1] == '\r')
		dst[--len] = '\0';
	return 0;
}

static int
bwctl_passwd_user_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && strchr("._@-", *s) == NULL)
			return 0;
	return n > 0 && n <= BWCTL_USER_MAX;
}

int
bwctl_passwd(int argc, char *argv[])
{
	unsigned char	 salt[BWCTL_PASSWD_SALT], key[BWCTL_PASSWD_KEY];
	char		 pw[BWCTL_PASSWD_MAX + 2], again[BWCTL_PASSWD_MAX + 2];
	char		 salt64[64], key64[64];
	const char	*rights = argc == 3 ? argv[2] : "view";
	int		 rc = BWCTL_EXIT_FAIL;

	if (argc < 2 || argc > 3 || (strcmp(rights, "view") != 0 &&
	    strcmp(rights, "act") != 0)) {
		fprintf(stderr, "bwctl: usage: bwctl passwd USER [view|act]\n");
		return BWCTL_EXIT_USAGE;
	}
	if (!bwctl_passwd_user_ok(argv[1])) {
		fprintf(stderr, "bwctl: passwd: bad user name (1 to %d letters, "
		    "digits, . _ @ -)\n", BWCTL_USER_MAX);
		return BWCTL_EXIT_USAGE;
	}
	if (bwctl_passwd_read("Password: ", pw, sizeof(pw)) == -1 ||
	    strlen(pw) > BWCTL_PASSWD_MAX) {
		fprintf(stderr, "bwctl: passwd: no password read (at most %d "
		    "bytes, one line)\n", BWCTL_PASSWD_MAX);
		goto out;
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "bwctl: passwd: empty password\n");
		goto out;
	}
	if (isatty(STDIN_FILENO) && (bwctl_passwd_read("Again: ", again,
	    sizeof(again)) == -1 || strcmp(pw, again) != 0)) {
		fprintf(stderr, "bwctl: passwd: the passwords differ\n");
		goto out;
	}
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt),
	    BWCTL_PASSWD_ITER, EVP_sha256(), sizeof(key), key) != 1) {
		fprintf(stderr, "bwctl: passwd: OpenSSL failed\n");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)key64, key, sizeof(key));
	printf("%s:$pbkdf2-sha256$%d$%s$%s:%s\n", argv[1], BWCTL_PASSWD_ITER,
	    salt64, key64, rights);
	rc = fflush(stdout) == 0 ? BWCTL_EXIT_OK : BWCTL_EXIT_FAIL;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(again, sizeof(again));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}
