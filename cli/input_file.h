/*
** input_file.h: the first check of a file a command reads (problems,
** answers), before it connects or starts anything.
*/
#ifndef TRIM_INPUT_FILE_H
#define TRIM_INPUT_FILE_H

/*
** Whether path can be a JSONL file to read: it exists, is readable, and is
** neither a directory nor empty.  Returns 0, or -1 after printing "trim
** CMD: ..." with path, why and what it should hold (e.g. "problems").
*/
int input_file_check(const char *cmd, const char *path, const char *what);

/*
** Whether the file that flag (e.g. "--prices") names can be read: it
** exists, is readable and is no directory.  Returns 0, or -1 after printing
** "trim CMD: FLAG PATH: why" (a usage error: exit 2).
*/
int input_flag_file_check(const char *cmd, const char *flag, const char *path);

#endif
