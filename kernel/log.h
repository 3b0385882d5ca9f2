/*
 * Rate-limited kernel messages: the console lines that a user action can
 * trigger (a fault in a thread without a handler, a VSpace made when no
 * ASID is left). See log.c for the limit and why it exists.
 */
#pragma once

#include "types.h"

/* Whether a message that a user action triggered may go to the console
 * now. Each true answer is one message (a line or two); the caller then
 * prints it. A false answer counts the message as suppressed; the count
 * is printed before the next message that may go out. */
bool log_may_print(void);

/* Prints "bulkhead: N messages suppressed" if any were, and resets the
 * count: before a message that is never limited, and at shutdown. */
void log_print_suppressed(void);
