/*
 * dm-ext/tool/p11-login.c - where the PIN comes from, and C_Login
 * (p11-client.h).  The PIN lives in one buffer here, wiped as soon as
 * C_Login has it; it is never printed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "p11-client-impl.h"

struct pin {
	char text[DMSC_P11_PIN_MAX + 2]; /* + newline + NUL */
	size_t len;
};

static int too_long(const char *source)
{
	dmsc_error("the PIN from %s is longer than %u bytes", source,
	           DMSC_P11_PIN_MAX);
	return DMSC_EXIT_PIN;
}

static int from_string(struct pin *pin, const char *s, const char *source)
{
	size_t n = strlen(s);

	if (n > DMSC_P11_PIN_MAX)
		return too_long(source);
	memcpy(pin->text, s, n);
	pin->len = n;
	return DMSC_EXIT_OK;
}

/* Keeps the first line of what was read, without its line end. */
static void first_line(struct pin *pin)
{
	char *nl = memchr(pin->text, '\n', pin->len);

	if (nl != NULL)
		pin->len = (size_t)(nl - pin->text);
	if (pin->len > 0 && pin->text[pin->len - 1] == '\r')
		pin->len--;
}

/* pin-source: "file:PATH", "file://PATH" or a path (RFC 7512 leaves the
 * form to the application; p11-kit's tools take the same). */
static int from_file(struct pin *pin, const char *source)
{
	const char *path = source;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (strncmp(path, "file://", 7) == 0)
		path += 7;
	else if (strncmp(path, "file:", 5) == 0)
		path += 5;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		dmsc_error("pin-source %s: cannot read: %s", path,
		           strerror(errno));
		return DMSC_EXIT_PIN;
	}
	while (got < sizeof pin->text - 1 &&
	       (n = read(fd, pin->text + got, sizeof pin->text - 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			dmsc_error("pin-source %s: cannot read: %s", path,
			           strerror(errno));
			close(fd);
			return DMSC_EXIT_PIN;
		}
		got += (size_t)n;
	}
	close(fd);
	pin->len = got;
	first_line(pin);
	if (pin->len > DMSC_P11_PIN_MAX)
		return too_long(path);
	return DMSC_EXIT_OK;
}

/* The prompt on the controlling terminal, echo off. */
static int from_terminal(struct pin *pin, const char *label, bool so)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+e");
	bool ok;

	if (tty == NULL || !isatty(fileno(tty))) {
		if (tty != NULL)
			fclose(tty);
		dmsc_error("no PIN: give it with --pin, a pin-source=FILE in "
		           "the --token URI, or DMSC_PIN (there is no terminal "
		           "to ask on)");
		return DMSC_EXIT_PIN;
	}
	/* Echo off before the prompt shows: what is typed after it is
	 * kept, and never appears; what was typed before it is dropped. */
	if (tcgetattr(fileno(tty), &old) != 0) {
		fclose(tty);
		dmsc_error("no PIN: cannot set up the terminal: %s",
		           strerror(errno));
		return DMSC_EXIT_PIN;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	fprintf(tty, "%s PIN for token '%s': ", so ? "SO" : "User", label);
	fflush(tty);
	ok = fgets(pin->text, sizeof pin->text, tty) != NULL;
	tcsetattr(fileno(tty), TCSANOW, &old);
	fputc('\n', tty);
	fclose(tty);
	if (!ok) {
		dmsc_error("no PIN: nothing was typed");
		return DMSC_EXIT_PIN;
	}
	pin->len = strlen(pin->text);
	if (pin->len > 0 && pin->text[pin->len - 1] != '\n' &&
	    pin->len == sizeof pin->text - 1)
		return too_long("the terminal");
	first_line(pin);
	return DMSC_EXIT_OK;
}

/* The first source that has one (order in p11-client.h). */
static int get_pin(dmsc_p11 *p, struct pin *pin, bool so)
{
	const char *env = getenv("DMSC_PIN");
	const char *v;
	int rc;

	if (p->common->pin != NULL) {
		rc = from_string(pin, p->common->pin, "--pin");
		/* Out of argv (and ps) now that it is copied. */
		OPENSSL_cleanse(p->common->pin, strlen(p->common->pin));
		return rc;
	}
	if (p->uri != NULL) {
		v = p11_kit_uri_get_pin_value(p->uri);
		if (v != NULL)
			return from_string(pin, v, "pin-value");
		v = p11_kit_uri_get_pin_source(p->uri);
		if (v != NULL)
			return from_file(pin, v);
	}
	if (env != NULL)
		return from_string(pin, env, "DMSC_PIN");
	return from_terminal(pin, p->label, so);
}

bool dmsc_p11_pin_given(const dmsc_p11 *p)
{
	return p->common->pin != NULL || getenv("DMSC_PIN") != NULL ||
	       (p->uri != NULL &&
	        (p11_kit_uri_get_pin_value(p->uri) != NULL ||
	         p11_kit_uri_get_pin_source(p->uri) != NULL));
}

int dmsc_p11_login(dmsc_p11 *p, CK_USER_TYPE who)
{
	struct pin pin = { .len = 0 };
	const CK_TOKEN_INFO *ti = dmsc_p11_token_info(p);
	bool pinpad;
	CK_RV rv;
	int rc;

	if (ti == NULL)
		return DMSC_EXIT_CARD;
	if (who == CKU_USER && !(ti->flags & CKF_USER_PIN_INITIALIZED))
		return dmsc_p11_fail(p, CKR_USER_PIN_NOT_INITIALIZED, 0,
		                     "logging in to token '%s'", p->label);
	pinpad = (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0 &&
	         !dmsc_p11_pin_given(p);
	if (!pinpad) {
		rc = get_pin(p, &pin, who == CKU_SO);
		if (rc != DMSC_EXIT_OK) {
			OPENSSL_cleanse(&pin, sizeof pin);
			return rc;
		}
	}
	p->login_as = who;
	rv = p->fn->C_Login(p->session, who,
	                    pinpad ? NULL : (CK_UTF8CHAR_PTR)pin.text,
	                    pinpad ? 0 : (CK_ULONG)pin.len);
	OPENSSL_cleanse(&pin, sizeof pin);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv != CKR_OK)
		return dmsc_p11_fail(p, rv, 0, "logging in to token '%s' as %s",
		                     p->label, who == CKU_SO ? "SO" : "user");
	p->logged_in = true;
	return DMSC_EXIT_OK;
}
