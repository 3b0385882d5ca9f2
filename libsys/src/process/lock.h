/*
 * The process layer's lock (libsys-internal): slots.c and alloc.c take it
 * around their bookkeeping. It is whatever the runtime installed with
 * bk_objects_set_lock() (libsys's re-entrant runtime lock), so this layer
 * needs nothing from the runtime above it. Names of libsys's internal
 * functions that must be global start with bk__, out of programs' way.
 */
#pragma once

void bk__objects_lock(void);
void bk__objects_unlock(void);
