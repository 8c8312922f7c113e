/*
** escape.h: text from models, users and peers made safe to print.
**
** Problem, step, answer, reason and error text can hold bytes a terminal
** acts on: ESC sequences that clear the screen or move the cursor, BEL, a
** CR that lets later text overwrite the line, C1 controls (U+0080 to
** U+009F; 0x9b alone is CSI on some terminals) and bytes that are not
** UTF-8.  Escaping makes each visible instead: \n \r \t for those three,
** \xHH for the other C0 bytes, DEL and bytes that are not UTF-8, \uXXXX for
** a C1 control and for the Unicode format controls that reorder or hide
** text (bidi embeddings, overrides, isolates and marks, U+2028, U+2029,
** U+FEFF: a "Trojan Source" line reads otherwise than it is).  Other valid
** UTF-8 passes unchanged, and so does the backslash (LaTeX is full of
** them), so escaped output is for reading, not parsing.
*/
#ifndef TRIM_ESCAPE_H
#define TRIM_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/*
** Write s to f escaped.  A newline becomes the string newline (an indent
** after it, say), or "\n" escaped when newline is NULL.  A NULL s writes
** nothing, as esc_str gives "" for it.
*/
void esc_fputs(const char *s, const char *newline, FILE *f);

/*
** s escaped, newlines included, into out (outlen > 0 bytes; always
** terminated, cut short with "..." when it does not fit).  Returns out, to
** be a printf argument; a NULL s gives "".
*/
const char *esc_str(char *out, size_t outlen, const char *s);

/*
** The n bytes at s (NUL-terminated at n) as UTF-8: a copy (malloc'd,
*NUL-terminated, its length
** in *outlen) where each byte that does not start a valid sequence, and
** each NUL, becomes U+FFFD.  For text stored as it came (a Latin-1 file, a
** model's stray byte) that JSON must carry.  NULL when out of memory.
*/
char *esc_utf8(const char *s, size_t n, size_t *outlen);

#endif
