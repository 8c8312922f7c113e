/*
** json_check.h: reading the JSON that trim prints, for the tests that drive
** the binary (test_calibrate_threshold, test_roi_cli).
*/
#ifndef TRIM_TEST_JSON_CHECK_H
#define TRIM_TEST_JSON_CHECK_H

#include <jansson.h>

/* text parsed as JSON (the caller decrefs it); fails the test if it is not. */
json_t *test_json(const char *text);

/* The number at key a of j, or at a.b when b is not NULL; fails the test
** when there is none. */
double test_json_num(const json_t *j, const char *a, const char *b);

#endif
