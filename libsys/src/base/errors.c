/*
 * Error names for messages, from the generated table.
 */
#include <bulkhead/sys.h>

const char *bk_error_name(long code)
{
    static const char *const names[] = BK_ERROR_NAMES;
    if (code < 0)
        code = -code;
    if (code >= (long)(sizeof(names) / sizeof(names[0])))
        return "?";
    return names[code];
}
