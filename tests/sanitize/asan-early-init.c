/*
 * Preloaded right after the ASan runtime into the outside tools that
 * tests/sanitize/run-asan.sh wraps (p11-kit, p11tool, certtool, ...): it
 * makes sure the runtime is initialised before glibc takes one of its
 * locale or gettext locks, as the runtime's own interceptors of setlocale()
 * and textdomain() do for those two.
 *
 * Why: a preloaded library is initialised after the libraries the program
 * itself needs, so in an uninstrumented program the ASan runtime has not
 * been initialised when those libraries' constructors run, and the first
 * allocation initialises it. In libp11-kit's constructor that allocation
 * is inside newlocale(), which holds __libc_setlocale_lock as a writer.
 * The runtime's initialisation looks up an optional symbol with dlsym()
 * (swift_demangle) and clears the error with dlerror(), which translates
 * the message with gettext; gettext read-locks __libc_setlocale_lock, gets
 * EDEADLK (this thread is the writer) without locking, and its unlock then
 * releases newlocale's write lock; newlocale's own unlock drives the
 * reader count to -1, and the next writer (newlocale in p11-kit-trust.so's
 * constructor, freelocale in libp11-kit's destructor) waits forever.
 * bindtextdomain() and bind_textdomain_codeset() allocate the same way
 * under _nl_state_lock, which gettext read-locks too.
 *
 * Each function here initialises the runtime (once; later calls return at
 * once) before it calls glibc's function, found with dlsym(RTLD_NEXT) once
 * the runtime is up (dlsym allocates).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

/* The ASan runtime's entry point, the one every instrumented module's
 * constructor calls; resolved in the preloaded runtime. */
void __asan_init(void);

/* The next definition of NAME (glibc's), with the runtime initialised. */
static void *real_function(const char *name)
{
    void *fn;

    __asan_init();
    fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL) {
        fprintf(stderr, "dmsc-asan-early-init: %s not found in the libraries after the preload: %s\n", name,
                dlerror());
        abort();
    }
    return fn;
}

locale_t newlocale(int category_mask, const char *locale, locale_t base)
{
    locale_t (*next)(int, const char *, locale_t) = (locale_t(*)(int, const char *, locale_t))real_function("newlocale");

    return next(category_mask, locale, base);
}

char *bindtextdomain(const char *domainname, const char *dirname)
{
    char *(*next)(const char *, const char *) = (char *(*)(const char *, const char *))real_function("bindtextdomain");

    return next(domainname, dirname);
}

char *bind_textdomain_codeset(const char *domainname, const char *codeset)
{
    char *(*next)(const char *, const char *) =
        (char *(*)(const char *, const char *))real_function("bind_textdomain_codeset");

    return next(domainname, codeset);
}
