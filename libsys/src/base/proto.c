/*
 * Server protocols at run time (<bulkhead/proto.h>): names packed into
 * message words, the shape check every request gets before a handler sees
 * it, the shared errors and their text, and the reply check every client
 * stub makes. The code tools/protogen.py generates calls these; nothing
 * here trusts the other side of the message.
 */
#include <bulkhead/format.h>
#include <bulkhead/proto.h>

void bk_proto_server_init(struct bk_proto_server *s, uint64_t recv_cnode, uint64_t recv_index,
                          uint64_t recv_depth, void *state)
{
    *s = (struct bk_proto_server){ .recv_cnode = recv_cnode, .recv_index = recv_index,
                                   .recv_depth = recv_depth, .state = state };
    bk_ipc_buffer->receive_cnode = recv_cnode;
    bk_ipc_buffer->receive_index = recv_index;
    bk_ipc_buffer->receive_depth = recv_depth;
}

void bk_proto_server_done(const struct bk_proto_server *s, uint64_t info)
{
    /* Of the caps that arrived, those whose caps_unwrapped bit is clear were
     * copied, and only one can be: into the receive slot. */
    unsigned arrived = (unsigned)BK_MSGINFO_EXTRA_CAPS(info), copied = 0;
    for (unsigned i = 0; i < arrived; i++)
        copied += !((BK_MSGINFO_CAPS_UNWRAPPED(info) >> i) & 1);
    if (s->recv_cnode != 0 && copied != 0)
        sys_cnode_delete(s->recv_cnode, s->recv_index, s->recv_depth);
}

static bool printable(char c)
{
    return c >= ' ' && c <= '~';
}

bool bk_proto_name_fits(const char *s, unsigned max)
{
    for (unsigned i = 0; i <= max; i++) {
        if (s[i] == 0)
            return true;
        if (!printable(s[i]))
            return false;
    }
    return false;
}

void bk_proto_pack_name(struct bk_msg *m, unsigned first, const char *s, unsigned max)
{
    bool ended = false;
    for (unsigned k = 0; k < BK_PROTO_NAME_WORDS(max); k++) {
        uint64_t w = 0;
        for (unsigned b = 0; b < 8 && k * 8 + b < max && !ended; b++) {
            ended = s[k * 8 + b] == 0;
            w |= (uint64_t)(uint8_t)s[k * 8 + b] << (8 * b);
        }
        bk_proto_set_word(m, first + k, w);
    }
}

bool bk_proto_unpack_name(const struct bk_msg *m, unsigned first, unsigned max, char *out)
{
    bool ended = false;
    unsigned n = BK_PROTO_NAME_WORDS(max);
    for (unsigned i = 0; i < n * 8; i++) {
        char c = (char)(bk_proto_word(m, first + i / 8) >> (8 * (i % 8)));
        if (c == 0) {
            ended = true;
        } else if (ended || i >= max || !printable(c)) {
            out[0] = 0;
            return false;
        }
        if (i < max)
            out[i] = ended ? 0 : c;
    }
    out[max] = 0;
    return true;
}

void bk_proto_copy_name(char *out, const char *s, unsigned max)
{
    unsigned i = 0;
    for (; i < max && s[i] != 0; i++)
        out[i] = printable(s[i]) ? s[i] : '?';
    out[i] = 0;
}

int bk_proto_fault(struct bk_proto_fault *f, int code, uint64_t a, uint64_t b, uint64_t c)
{
    *f = (struct bk_proto_fault){ .words = { a, b, c } };
    return code;
}

int bk_proto_check_shape(const struct bk_msg *m, unsigned words, unsigned caps,
                         struct bk_proto_fault *f)
{
    unsigned length = (unsigned)BK_MSGINFO_LENGTH(m->info);
    unsigned arrived = (unsigned)BK_MSGINFO_EXTRA_CAPS(m->info);
    uint64_t badges = BK_MSGINFO_CAPS_UNWRAPPED(m->info);
    if (length != words)
        return bk_proto_fault(f, BK_PROTO_ERR_BAD_LENGTH, length, words, 0);
    if (arrived != caps || badges != 0)
        return bk_proto_fault(f, BK_PROTO_ERR_BAD_CAPS, arrived, caps, badges);
    return 0;
}

int bk_proto_fault_length(int code)
{
    switch (code) {
    case BK_PROTO_ERR_UNKNOWN_METHOD:
    case BK_PROTO_ERR_BAD_VALUE:
    case BK_PROTO_ERR_SERVER:
        return 1;
    case BK_PROTO_ERR_BAD_LENGTH:
        return 2;
    case BK_PROTO_ERR_BAD_CAPS:
        return 3;
    default:
        return -1;
    }
}

void bk_proto_fault_reply(struct bk_msg *m, uint64_t id, int code, const struct bk_proto_fault *f)
{
    struct bk_proto_fault broken = { { (uint64_t)code } };
    int length = bk_proto_fault_length(code);
    if (length < 0) { /* not an error that travels: say the server broke */
        code = BK_PROTO_ERR_SERVER;
        f = &broken;
        length = 1;
    }
    m->info = BK_MSGINFO(length, 0, 0, BK_PROTO_ERROR_LABEL(id, code));
    for (int i = 0; i < length; i++)
        bk_proto_set_word(m, (unsigned)i, f->words[i]);
}

int bk_proto_reply_code(const struct bk_msg *m, uint64_t label, unsigned words,
                        int (*own_length)(int code))
{
    return bk_proto_reply_code_caps(m, label, words, 0, own_length);
}

int bk_proto_reply_code_caps(const struct bk_msg *m, uint64_t label, unsigned words,
                             unsigned caps, int (*own_length)(int code))
{
    uint64_t got = BK_MSGINFO_LABEL(m->info);
    unsigned length = (unsigned)BK_MSGINFO_LENGTH(m->info);
    unsigned arrived = (unsigned)BK_MSGINFO_EXTRA_CAPS(m->info);
    /* The kernel answers a failed Call with its error as the label, which
     * is below any protocol's (ids start at 1). */
    if (BK_PROTO_ID(got) == 0 && got != 0)
        return BK_PROTO_ERR_IPC;
    if (got == label) {
        if (length != words || arrived > caps || BK_MSGINFO_CAPS_UNWRAPPED(m->info) != 0)
            return BK_PROTO_ERR_BAD_REPLY;
        /* The kernel drops the cap of an answer to a Call made without the
         * grant-reply right, or one that finds the receive slot taken. */
        return arrived == caps ? 0 : BK_PROTO_ERR_NO_CAP;
    }
    if (arrived != 0)
        return BK_PROTO_ERR_BAD_REPLY;
    if (BK_PROTO_ID(got) != BK_PROTO_ID(label) || !(got & BK_PROTO_ERROR_BIT))
        return BK_PROTO_ERR_BAD_REPLY;
    int code = (int)(got & BK_PROTO_MAX_NUMBER);
    int expected = code < BK_PROTO_FIRST_CODE ? bk_proto_fault_length(code) : own_length(code);
    if (expected < 0 || length != (unsigned)expected)
        return BK_PROTO_ERR_BAD_REPLY;
    return code;
}

void bk_proto_fault_unpack(const struct bk_msg *m, int code, struct bk_proto_fault *f)
{
    uint64_t label = BK_MSGINFO_LABEL(m->info);
    if (code == BK_PROTO_ERR_IPC || code == BK_PROTO_ERR_NO_CAP) {
        bk_proto_fault(f, code, label, 0, 0);
    } else if (code == BK_PROTO_ERR_BAD_REPLY) {
        bk_proto_fault(f, code, label, BK_MSGINFO_LENGTH(m->info), 0);
    } else {
        int length = bk_proto_fault_length(code);
        bk_proto_fault(f, code, 0, 0, 0);
        for (int i = 0; i < length; i++)
            f->words[i] = bk_proto_word(m, (unsigned)i);
    }
}

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

int bk_proto_fault_format(char *buf, size_t size, const char *protocol, const char *method,
                          const char *const *args, unsigned nargs, int code,
                          const struct bk_proto_fault *f)
{
    unsigned long long a = f->words[0], b = f->words[1], c = f->words[2];
    switch (code) {
    case BK_PROTO_ERR_UNKNOWN_METHOD:
        return bk_snprintf(buf, size, "%s: no method has label 0x%llx", protocol, a);
    case BK_PROTO_ERR_BAD_LENGTH:
        return bk_snprintf(buf, size, "%s: %s: %llu word%s sent, the method takes %llu", protocol,
                           method, a, plural(a), b);
    case BK_PROTO_ERR_BAD_CAPS:
        return bk_snprintf(buf, size, "%s: %s: %llu capabilit%s arrived (badges: 0x%llx), the "
                           "method takes %llu", protocol, method, a, a == 1 ? "y" : "ies", c, b);
    case BK_PROTO_ERR_BAD_VALUE:
        return bk_snprintf(buf, size, "%s: %s: argument %llu (%s) is not a valid value", protocol,
                           method, a, a < nargs ? args[a] : "?");
    case BK_PROTO_ERR_SERVER:
        return bk_snprintf(buf, size, "%s: %s: the server answered with code %llu, which the "
                           "method does not list", protocol, method, a);
    case BK_PROTO_ERR_IPC:
        return bk_snprintf(buf, size, "%s: %s: the call failed: %s", protocol, method,
                           bk_error_name((long)a));
    case BK_PROTO_ERR_BAD_REPLY:
        return bk_snprintf(buf, size, "%s: %s: a reply that fits no answer (label 0x%llx, %llu "
                           "words)", protocol, method, a, b);
    case BK_PROTO_ERR_NO_CAP:
        return bk_snprintf(buf, size, "%s: %s: the answer carried no capability (the endpoint "
                           "capability needs the grant-reply right, and the slot for it must be "
                           "empty)", protocol, method);
    default:
        return bk_snprintf(buf, size, "%s: %s: unknown error %d", protocol, method, code);
    }
}

const char *bk_proto_size_text(char *buf, uint64_t bytes)
{
    static const char *const units[] = { "GiB", "MiB", "KiB" };
    if (bytes == 0) {
        bk_snprintf(buf, BK_PROTO_SIZE_TEXT, "0");
        return buf;
    }
    for (unsigned i = 0; i < 3; i++) {
        unsigned shift = 30 - 10 * i;
        if ((bytes & ((1ull << shift) - 1)) == 0) {
            bk_snprintf(buf, BK_PROTO_SIZE_TEXT, "%llu %s", (unsigned long long)(bytes >> shift),
                        units[i]);
            return buf;
        }
    }
    bk_snprintf(buf, BK_PROTO_SIZE_TEXT, "%llu B", (unsigned long long)bytes);
    return buf;
}

struct bk_proto_receive bk_proto_receive_at(bk_cptr_t slot)
{
    struct bk_ipc_buffer *b = bk_ipc_buffer;
    struct bk_proto_receive saved = { b->receive_cnode, b->receive_index, b->receive_depth };
    b->receive_cnode = BK_CAP_ROOT_CNODE;
    b->receive_index = slot;
    b->receive_depth = BK_WORD_BITS;
    return saved;
}

void bk_proto_receive_done(const struct bk_proto_receive *saved, bk_cptr_t slot,
                           const struct bk_msg *m, bool ok)
{
    struct bk_ipc_buffer *b = bk_ipc_buffer;
    b->receive_cnode = saved->cnode;
    b->receive_index = saved->index;
    b->receive_depth = saved->depth;
    /* In an answer no cap arrives as a badge: one that arrived is in the slot. */
    if (!ok && BK_MSGINFO_EXTRA_CAPS(m->info) != 0)
        sys_cnode_delete(BK_CAP_ROOT_CNODE, slot, BK_WORD_BITS);
}
