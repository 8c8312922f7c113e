/*
** cmd_keygen.c: `trim keygen`, writing a CURVE key pair for encrypted TCP.
**
**   trim keygen PREFIX
**
** writes PREFIX.secret (mode 0600) and PREFIX.public and prints the public
** key, its fingerprint and the file names.  The secret key is never printed.
*/
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "curve.h"

static const char usage_text[] =
    "usage: trim keygen PREFIX\n"
    "\n"
    "Write a new CURVE key pair: PREFIX.secret (the secret key, readable by\n"
    "you only; keep it on the machine that uses it) and PREFIX.public (the\n"
    "public key, to hand to the other side: a server's goes to its clients,\n"
    "a client's into the server's allowed-keys file).  Existing files are\n"
    "never overwritten.  Prints the public key; the secret is never shown.\n";


int
cmd_keygen(int argc, char **argv)
{
    curve_keys_t keys;
    char err[512], fp[17];

    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0') {
        fputs(usage_text, stderr);
        return 2;
    }
    if (curve_write_keypair(argv[1], &keys, err, sizeof err) != 0) {
        fprintf(stderr, "trim keygen: %s\n", err);
        return 1;
    }
    curve_fingerprint(keys.public_z85, fp);
    printf("public key   %s\n", keys.public_z85);
    printf("fingerprint  %s\n", fp);
    printf("secret file  %s.secret (mode 0600; keep it private)\n", argv[1]);
    printf("public file  %s.public\n", argv[1]);
    curve_keys_clear(&keys);
    return 0;
}
