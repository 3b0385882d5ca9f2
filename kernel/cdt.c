/*
 * The capability derivation tree: link surgery on slots (see cdt.h for the
 * invariants). Nothing here looks at caps or objects, and nothing recurses:
 * a chain of derived caps can be as long as there are slots.
 */
#include "cdt.h"

static void clear_links(struct cte *s)
{
    s->parent = NULL;
    s->first_child = NULL;
    s->next_sibling = NULL;
    s->prev_sibling = NULL;
}

void cdt_install(struct cte *slot, cap_t cap, struct cte *parent)
{
    slot->cap = cap;
    clear_links(slot);
    if (!parent)
        return;
    /* Newest first: inserting at the head is O(1), and nothing depends on
     * the order of siblings. */
    slot->parent = parent;
    slot->next_sibling = parent->first_child;
    if (parent->first_child)
        parent->first_child->prev_sibling = slot;
    parent->first_child = slot;
}

/* Unhooks `s` from its sibling list; its children stay attached to it. */
static void unlink_from_siblings(struct cte *s)
{
    if (s->prev_sibling)
        s->prev_sibling->next_sibling = s->next_sibling;
    else if (s->parent)
        s->parent->first_child = s->next_sibling;
    if (s->next_sibling)
        s->next_sibling->prev_sibling = s->prev_sibling;
}

/* The children of a removed root become roots: no parent, no siblings. */
static void make_children_roots(struct cte *first)
{
    while (first) {
        struct cte *next = first->next_sibling;
        first->parent = NULL;
        first->prev_sibling = NULL;
        first->next_sibling = NULL;
        first = next;
    }
}

/* Replaces `s` in its parent's child list by the run of its children
 * [first .. last], which keeps their order. */
static void splice_children(struct cte *s, struct cte *first)
{
    struct cte *last = first;
    for (struct cte *c = first; c; c = c->next_sibling) {
        c->parent = s->parent;
        last = c;
    }
    first->prev_sibling = s->prev_sibling;
    last->next_sibling = s->next_sibling;
    if (s->prev_sibling)
        s->prev_sibling->next_sibling = first;
    else
        s->parent->first_child = first;
    if (s->next_sibling)
        s->next_sibling->prev_sibling = last;
}

void cdt_remove(struct cte *slot)
{
    struct cte *first = slot->first_child;
    if (!first)
        unlink_from_siblings(slot);
    else if (slot->parent)
        splice_children(slot, first);
    else
        make_children_roots(first);
    clear_links(slot);
}

void cdt_move(struct cte *from, struct cte *to)
{
    to->parent = from->parent;
    to->first_child = from->first_child;
    to->next_sibling = from->next_sibling;
    to->prev_sibling = from->prev_sibling;
    if (to->prev_sibling)
        to->prev_sibling->next_sibling = to;
    else if (to->parent)
        to->parent->first_child = to;
    if (to->next_sibling)
        to->next_sibling->prev_sibling = to;
    for (struct cte *c = to->first_child; c; c = c->next_sibling)
        c->parent = to;
    clear_links(from);
}

struct cte *cdt_first_leaf(struct cte *slot)
{
    while (slot->first_child)
        slot = slot->first_child;
    return slot;
}

struct cte *cdt_walk_next(const struct cte *root, const struct cte *s)
{
    if (s->first_child)
        return s->first_child;
    /* No children: the next sibling of the nearest ancestor (or of s
     * itself) that has one, without leaving the subtree. */
    while (s != root) {
        if (s->next_sibling)
            return s->next_sibling;
        s = s->parent;
    }
    return NULL;
}

bool cdt_is_ancestor(const struct cte *a, const struct cte *b)
{
    for (const struct cte *p = b->parent; p; p = p->parent) {
        if (p == a)
            return true;
    }
    return false;
}
