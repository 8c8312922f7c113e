/*
** csv.h: CSV fields as RFC 4180 writes them, for every CSV trim prints.
*/
#ifndef TRIM_CSV_H
#define TRIM_CSV_H

#include <stdio.h>

/*
** Write s to f as one field: as it is, or in double quotes (a quote inside
** doubled) when it holds a comma, a quote, a CR or a LF.  NULL writes an
** empty field.  The separators and the CRLF or LF ending the record are the
** caller's.
*/
void csv_field(FILE *f, const char *s);

#endif
