/*
 * The process layer's lock (libsys-internal): slots.c and alloc.c take it
 * around their bookkeeping. It is whatever the runtime installed with
 * bk_objects_set_lock() (libsys's re-entrant runtime lock), so this layer
 * needs nothing from the runtime above it.
 */
#pragma once

void process_lock(void);
void process_unlock(void);
