/*
** routes.c: parsing --route NAME=POLICY[,OPTION=VALUE...] (see gateway.h).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "gateway.h"
#include "policy.h"


/* One ",name=value" option of the route. */
static int
route_option(gateway_route_t *r, const char *opt, size_t len, const char *spec,
             char *err, size_t errlen)
{
    char buf[64], *end;
    const char *eq = memchr(opt, '=', len);

    if (eq == NULL || len >= sizeof buf)
        return errf(err, errlen,
                    "--route %s: '%.*s': expected max-strong-tokens=N or "
                    "target-share=X",
                    spec, (int)len, opt);
    memcpy(buf, opt, len);
    buf[len] = '\0';
    char *value = buf + (eq - opt) + 1;
    buf[eq - opt] = '\0';
    errno = 0;
    if (strcmp(buf, "max-strong-tokens") == 0) {
        long long n = strtoll(value, &end, 10);
        if (errno || end == value || *end || n < 0)
            return errf(err, errlen,
                        "--route %s: max-strong-tokens: '%s' is not a "
                        "non-negative integer",
                        spec, value);
        r->max_strong_tokens = (uint64_t)n;
    } else if (strcmp(buf, "target-share") == 0) {
        double x = strtod(value, &end);
        if (errno || end == value || *end || !(x >= 0 && x < 1))
            return errf(err, errlen,
                        "--route %s: target-share: '%s' is not in [0, 1)", spec,
                        value);
        r->target_share = x;
    } else if (strcmp(buf, "speculate") == 0) {
        if (strcmp(value, "off") != 0 && strcmp(value, "on") != 0 &&
            strcmp(value, "guard") != 0)
            return errf(err, errlen,
                        "--route %s: speculate: '%s' is not off, on or guard",
                        spec, value);
        snprintf(r->speculate, sizeof r->speculate, "%s", value);
    } else {
        return errf(err, errlen,
                    "--route %s: unknown option '%s' (max-strong-tokens, "
                    "target-share or speculate)",
                    spec, buf);
    }
    return 0;
}


int
gateway_route_parse(const char *spec, gateway_route_t *out, char *err,
                    size_t errlen)
{
    const char *eq = strchr(spec, '='), *policy, *comma;
    size_t n;

    memset(out, 0, sizeof *out);
    if (eq == NULL || eq == spec)
        return errf(err, errlen,
                    "--route '%s': expected NAME=POLICY[,max-strong-tokens=N]"
                    "[,target-share=X]",
                    spec);
    n = (size_t)(eq - spec);
    if (n > GATEWAY_NAME_MAX)
        return errf(err, errlen, "--route %s: the name is over %d bytes", spec,
                    GATEWAY_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (spec[i] <= ' ' || spec[i] == ',' || spec[i] == 0x7f)
            return errf(err, errlen,
                        "--route %s: the name has a space, comma or control "
                        "character",
                        spec);
    memcpy(out->name, spec, n);
    policy = eq + 1;
    comma = strchr(policy, ',');
    n = comma ? (size_t)(comma - policy) : strlen(policy);
    if (n == 0 || n > GATEWAY_POLICY_MAX)
        return errf(err, errlen,
                    "--route %s: the policy is empty or over %d "
                    "bytes",
                    spec, GATEWAY_POLICY_MAX);
    memcpy(out->policy, policy, n);
    char why[256];
    if (policy_check_spec(out->policy, why, sizeof why) < 0)
        return errf(err, errlen, "--route %s: %s", spec, why);
    while (comma != NULL) {
        const char *opt = comma + 1;
        comma = strchr(opt, ',');
        n = comma ? (size_t)(comma - opt) : strlen(opt);
        if (route_option(out, opt, n, spec, err, errlen) < 0)
            return -1;
    }
    return 0;
}
