/*
** test_agg_file.c: saving and loading TRIM-Agg policy files when things go
** wrong.
**
** A save that cannot complete (a parameter that is not finite, a
** directory in the way, no room for the temporary file, a path too long)
** reports the file, leaves whatever was there untouched and leaves no
** temporary file behind; lambda reads back bit for bit; a file too large to
** be a policy or that cannot be read is refused by name.  test_agg.c covers
** the round trip and damaged contents.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg.h"
#include "testutil.h"

static char g_dir[64];


static int
setup(void **state)
{
    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "agg-file");
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


/* How many entries of g_dir have ".tmp" in their name. */
static int
temporaries(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp") != NULL;
    closedir(d);
    return n;
}


static void
test_failed_saves_change_nothing(void **state)
{
    (void)state;
    char err[512], path[128], want[256];
    agg_model_t *m = agg_model_new(1, 4, 0.1 + 0.2, err, sizeof err), *back;

    assert_non_null(m);
    snprintf(path, sizeof path, "%s/p.agg", g_dir);
    assert_int_equal(agg_model_save(m, path, err, sizeof err), 0);
    assert_int_equal(agg_model_load(path, &back, err, sizeof err), 0);
    assert_true(back->lambda == 0.1 + 0.2); /* 0.30000000000000004 */
    agg_model_destroy(&back);

    /* A parameter that is not finite: nothing written over the file. */
    m->actor->params[0] = NAN;
    assert_int_equal(agg_model_save(m, path, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "%s: not written: the model has a parameter that is not finite",
             path);
    assert_string_equal(err, want);
    assert_int_equal(agg_model_load(path, &back, err, sizeof err), 0);
    agg_model_destroy(&back);
    m->actor->params[0] = 0;

    /* A directory where the file should go. */
    snprintf(path, sizeof path, "%s/dir.agg", g_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(agg_model_save(m, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot rename ", path);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
    assert_non_null(strstr(err, "into place: Is a directory"));
    assert_int_equal(temporaries(), 0);

    /* No directory for the temporary file; a path too long for one. */
    snprintf(path, sizeof path, "%s/missing/p.agg", g_dir);
    assert_int_equal(agg_model_save(m, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create a temporary file beside it"));
    char *longpath = malloc(5000);
    assert_non_null(longpath);
    memset(longpath, 'a', 4999);
    longpath[4999] = '\0';
    char *longerr = malloc(8192);
    assert_non_null(longerr);
    assert_int_equal(agg_model_save(m, longpath, longerr, 8192), -1);
    assert_non_null(strstr(longerr, ": path too long"));
    free(longerr);
    free(longpath);
    agg_model_destroy(&m);
}


static void
test_unreadable_and_oversized_files(void **state)
{
    (void)state;
    char err[512], path[128], want[256];
    agg_model_t *m = NULL;

    /* 65 MiB of nothing (a sparse file): not read to the end. */
    snprintf(path, sizeof path, "%s/huge.agg", g_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)65 << 20), 0);
    close(fd);
    assert_int_equal(agg_model_load(path, &m, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: larger than 64 MiB, not a policy", path);
    assert_string_equal(err, want);
    assert_null(m);

    /* A directory opens but cannot be read. */
    assert_int_equal(agg_model_load(g_dir, &m, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: read error", g_dir);
    assert_string_equal(err, want);

    /* An empty file. */
    snprintf(path, sizeof path, "%s/empty.agg", g_dir);
    test_write_file(path, "");
    assert_int_equal(agg_model_load(path, &m, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: empty file", path);
    assert_string_equal(err, want);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_saves_change_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_and_oversized_files,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
