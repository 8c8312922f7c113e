/*
** answer.h: final-answer extraction and comparison.
*/
#ifndef TRIM_ANSWER_H
#define TRIM_ANSWER_H

#include <stddef.h>

/*
** Copy the contents of the last \boxed{...} in text (braces balanced) into
** out (outlen bytes, always terminated).  Returns 1 if found, 0 if text has no
** complete \boxed{}, -1 if the answer does not fit in out.
*/
int answer_extract_boxed(const char *text, char *out, size_t outlen);

/*
** 1 if two answers are the same after normalisation (surrounding spaces and
** "$", thousands separators, a trailing ".0"/"." and spaces removed), else 0.
*/
int answer_equal(const char *a, const char *b);

#endif
