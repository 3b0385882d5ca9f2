/*
 * The capability derivation tree: link surgery on slots (see cdt.h for the
 * invariants). Nothing here looks at caps or objects, and nothing recurses:
 * a chain of derived caps can be as long as there are slots. Nothing here
 * loops over a child list either, except make_children_roots() (boot caps
 * only): a tenant decides how many children a cap has.
 */
#include "cdt.h"

static void clear_links(struct cte *s)
{
    s->parent = NULL;
    s->first_child = NULL;
    s->next_sibling = NULL;
    s->prev_sibling = NULL;
}

/* Makes `c` the first child of `p` (c's sibling links are set already). */
static void become_first(struct cte *c, struct cte *p)
{
    c->parent = p;
    p->first_child = c;
}

void cdt_install(struct cte *slot, cap_t cap, struct cte *parent)
{
    slot->cap = cap;
    clear_links(slot);
    if (!parent)
        return;
    /* Newest first: inserting at the head is O(1), and nothing depends on
     * the order of siblings except the badge family's adjacency (cdt.h),
     * which an insert at the head cannot split. */
    struct cte *old = parent->first_child;
    if (old) {
        slot->next_sibling = old;
        slot->prev_sibling = old->prev_sibling;
        old->prev_sibling->next_sibling = slot;
        old->prev_sibling = slot;
        old->parent = NULL;
    } else {
        slot->next_sibling = slot;
        slot->prev_sibling = slot;
    }
    become_first(slot, parent);
}

/* Unhooks the child `s` from its sibling list; its children stay attached
 * to it. A first child hands the parent to the next one. */
static void unlink_from_siblings(struct cte *s)
{
    struct cte *next = s->next_sibling, *prev = s->prev_sibling;
    if (next == s) { /* an only child */
        s->parent->first_child = NULL;
        return;
    }
    prev->next_sibling = next;
    next->prev_sibling = prev;
    if (s->parent)
        become_first(next, s->parent);
}

/* The children of a removed root become roots: no parent, no siblings.
 * One step per child, but only boot caps are roots. */
static void make_children_roots(struct cte *first)
{
    struct cte *c = first;
    do {
        struct cte *next = c->next_sibling;
        c->parent = NULL;
        c->prev_sibling = NULL;
        c->next_sibling = NULL;
        c = next;
    } while (c != first);
}

/* Replaces the child `s` in its list by the run of its children
 * [first .. last], which keeps their order: four links and, if s was the
 * first child, the parent pointer. The children between first and last
 * are not touched. */
static void splice_children(struct cte *s, struct cte *first)
{
    struct cte *last = first->prev_sibling;
    first->parent = NULL;
    if (s->next_sibling != s) { /* s has siblings: link the run between them */
        struct cte *prev = s->prev_sibling, *next = s->next_sibling;
        prev->next_sibling = first;
        first->prev_sibling = prev;
        last->next_sibling = next;
        next->prev_sibling = last;
    } /* else the run, circular already, is the whole list */
    if (s->parent)
        become_first(first, s->parent);
}

void cdt_remove(struct cte *slot)
{
    struct cte *first = slot->first_child;
    bool is_child = slot->next_sibling != NULL;
    if (!first && is_child)
        unlink_from_siblings(slot);
    else if (first && is_child)
        splice_children(slot, first);
    else if (first)
        make_children_roots(first);
    clear_links(slot);
}

void cdt_move(struct cte *from, struct cte *to)
{
    *to = (struct cte){ .cap = to->cap, .spare = to->spare };
    if (from->next_sibling == from) { /* an only child: its list is itself */
        to->next_sibling = to;
        to->prev_sibling = to;
    } else if (from->next_sibling) {
        to->next_sibling = from->next_sibling;
        to->prev_sibling = from->prev_sibling;
        to->next_sibling->prev_sibling = to;
        to->prev_sibling->next_sibling = to;
    }
    if (from->parent)
        become_first(to, from->parent);
    /* Only the first child names its parent. */
    to->first_child = from->first_child;
    if (to->first_child)
        to->first_child->parent = to;
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
     * itself) that has one, without leaving the subtree. A last child's
     * next_sibling is the first child, which names the parent: O(1) a
     * level. */
    while (s != root) {
        if (!cte_is_last_child(s))
            return s->next_sibling;
        s = s->next_sibling->parent;
    }
    return NULL;
}

bool cdt_is_ancestor(const struct cte *a, const struct cte *b)
{
    for (const struct cte *p = cte_parent(b); p; p = cte_parent(p)) {
        if (p == a)
            return true;
    }
    return false;
}
