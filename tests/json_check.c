/*
** json_check.c: reading the JSON that trim prints (see json_check.h).
*/
#include "json_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>


json_t *
test_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (j == NULL)
        fail_msg("not JSON (%s): %s", e.text, text);
    return j;
}


double
test_json_num(const json_t *j, const char *a, const char *b)
{
    const json_t *v = json_object_get(j, a);

    if (b != NULL)
        v = json_object_get(v, b);
    if (!json_is_number(v))
        fail_msg("%s%s%s is not a number", a, b ? "." : "", b ? b : "");
    return json_number_value(v);
}
