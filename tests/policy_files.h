/*
** policy_files.h: helpers for the tests of the learned policies' files
** (test_agg.c, test_seq.c): read a saved file, write damaged copies of it,
** reseal their checksum, and check a copy is refused.
*/
#ifndef TRIM_TEST_POLICY_FILES_H
#define TRIM_TEST_POLICY_FILES_H

#include <stddef.h>

/* The whole file at path (malloc'd, NUL-terminated), its size in *len. */
char *pfile_read(const char *path, size_t *len);

/* Write len bytes of text to path (created or truncated). */
void pfile_write(const char *path, const char *text, size_t len);

/* Write text with its checksum line made to match the content again. */
void pfile_write_resealed(const char *path, const char *text);

/* text with the first occurrence of from replaced by to (malloc'd). */
char *pfile_replaced(const char *text, const char *from, const char *to);

/*
** Loading path with load (0 or -1 with err; it fails the test if it leaves
** a model behind on failure) fails with an error naming path and holding
** want, and so does the policy "KIND:path".
*/
void
pfile_assert_rejected(int (*load)(const char *path, char *err, size_t errlen),
                      const char *kind, const char *path, const char *want);

#endif
