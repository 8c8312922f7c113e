/*
** input_file.c: the first check of a file a command reads (see
** input_file.h).
*/
#include "input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


int
input_file_check(const char *cmd, const char *path, const char *what)
{
    struct stat st;
    int fd = open(path, O_RDONLY), rc = -1;

    if (fd < 0 || fstat(fd, &st) != 0)
        fprintf(stderr, "trim %s: cannot read %s: %s\n", cmd, path,
                strerror(errno));
    else if (S_ISDIR(st.st_mode))
        fprintf(stderr, "trim %s: %s is a directory, not a JSONL file of %s\n",
                cmd, path, what);
    else if (S_ISREG(st.st_mode) && st.st_size == 0)
        fprintf(stderr, "trim %s: %s is empty: no %s in it\n", cmd, path, what);
    else
        rc = 0;
    if (fd >= 0)
        close(fd);
    return rc;
}


int
input_flag_file_check(const char *cmd, const char *flag, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY), rc = -1;

    if (fd < 0 || fstat(fd, &st) != 0)
        fprintf(stderr, "trim %s: %s %s: %s\n", cmd, flag, path,
                strerror(errno));
    else if (S_ISDIR(st.st_mode))
        fprintf(stderr, "trim %s: %s %s: is a directory\n", cmd, flag, path);
    else
        rc = 0;
    if (fd >= 0)
        close(fd);
    return rc;
}
