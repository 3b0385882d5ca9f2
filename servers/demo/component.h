/*
 * What the demo's programs share (servers/demo): the component's name from
 * its start-info page, and the list of its capabilities as the kernel
 * identifies them, one line per slot, which tools/policyboot.py compares
 * with the capability table the root task built it from.
 */
#ifndef DEMO_COMPONENT_H
#define DEMO_COMPONENT_H

#include <bulkhead/sys.h>

#define COMPONENT_NAME_LEN 17 /* a policy name: 1 to 16 characters */
/* Every component's CNode has 2^8 slots (tools/policy.py, CNODE_RADIX). */
#define COMPONENT_CNODE_BITS 8
/* The stand-in server's answer: label 0, the caller's badge and up to 8
 * bytes of the server's name. */
#define COMPONENT_ANSWER_WORDS 2

/* The first word of the start-info page's cmdline: the component's name
 * (the root task writes "name args..." there). */
void component_name(const struct bk_bootinfo *info, char name[COMPONENT_NAME_LEN]);

/* `name`'s first 8 bytes as a message word, and back. */
uint64_t component_name_word(const char *name);
void component_word_name(uint64_t word, char out[9]);

/* Prints "<name>: cap slot=S type=T rights=R" for every occupied slot of
 * the component's CNode of 2^radix slots, then "<name>: N caps"; returns N. */
unsigned component_list_caps(const char *name, unsigned radix);

/* The first word after the name in cmdline, or "" (for the arguments). */
const char *component_args(const struct bk_bootinfo *info);

#endif
