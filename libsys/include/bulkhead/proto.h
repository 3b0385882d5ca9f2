/*
 * Server protocols at run time: what the code tools/protogen.py generates
 * from a protocol description (servers/<name>/protocol.toml) calls into.
 * The wire format is described in docs/servers.md; in short:
 *
 *   request label   id << 16 | method number (1..0x7fff)
 *   success reply   the request's label, the method's result words
 *   error reply     id << 16 | 0x8000 | code, the error's number words
 *
 * Codes 1..31 are the errors every protocol shares (BK_PROTO_ERR_*, below):
 * a malformed request the generated dispatch refused before any handler
 * ran, or, on the client side, a Call that failed or a reply that fits no
 * answer. A protocol's own errors have codes from BK_PROTO_FIRST_CODE.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bulkhead/sys.h>

#define BK_PROTO_ERROR_BIT 0x8000u
#define BK_PROTO_MAX_NUMBER 0x7fffu /* largest method number and error code */
#define BK_PROTO_FIRST_CODE 32      /* a protocol's own error codes start here */

/* The label of method `number` of protocol `id`, and of error reply `code`. */
#define BK_PROTO_LABEL(id, number) (((uint64_t)(id) << 16) | (uint64_t)(number))
#define BK_PROTO_ERROR_LABEL(id, code) (BK_PROTO_LABEL(id, code) | BK_PROTO_ERROR_BIT)
/* The protocol id a label carries (0 for a kernel error label). */
#define BK_PROTO_ID(label) ((uint64_t)(label) >> 16)

/* The shared errors, with the numbers each carries (struct bk_proto_fault). */
#define BK_PROTO_ERR_UNKNOWN_METHOD 1 /* the label received */
#define BK_PROTO_ERR_BAD_LENGTH 2     /* words received, words the method takes */
#define BK_PROTO_ERR_BAD_CAPS 3       /* caps arrived, caps the method takes, which came as badges */
#define BK_PROTO_ERR_BAD_VALUE 4      /* the argument's index (a bool not 0/1, a u32 above
                                         0xffffffff, a name too long, unprintable or not
                                         zero-padded) */
#define BK_PROTO_ERR_SERVER 5         /* a code the handler returned that its method does not list */
#define BK_PROTO_ERR_IPC 6            /* client side: the kernel's error (BK_ERR_*) for the Call */
#define BK_PROTO_ERR_BAD_REPLY 7      /* client side: the label and length of a reply that fits
                                         neither the method's results nor one of its errors */
#define BK_PROTO_ERR_NO_CAP 8         /* client side: the label of a success answer that should
                                         have carried a capability and did not */

/* The numbers of a shared error, in the order listed above. */
struct bk_proto_fault {
    uint64_t words[3];
};

/* What a server's dispatch needs besides the message: where capabilities
 * arrive, and the server's own state for its handlers. */
struct bk_proto_server {
    uint64_t recv_cnode; /* CNode (cap address in the server's CSpace) of the receive slot; 0: none */
    uint64_t recv_index; /* the receive slot's index in it */
    uint64_t recv_depth; /* and the depth of that index */
    void *state;         /* the server's, handed to every handler as call->server->state */
};

/* Sets up `s` and points the calling thread's IPC buffer at its receive
 * slot (recv_cnode 0: the server takes no capabilities, and every method
 * with a cap argument fails with BAD_CAPS). Call it on the thread that
 * runs the server loop, before its first receive. */
void bk_proto_server_init(struct bk_proto_server *s, uint64_t recv_cnode, uint64_t recv_index,
                          uint64_t recv_depth, void *state);

/* After a request with message info `info` is handled: deletes a
 * capability the request left in the receive slot (one the method did not
 * take, or its handler did not move away), so the slot is empty for the
 * next request. */
void bk_proto_server_done(const struct bk_proto_server *s, uint64_t info);

/* Message word `i` of `m`: words 0-3 travel in registers (m->mr), the rest
 * in the thread's IPC buffer. */
static inline uint64_t bk_proto_word(const struct bk_msg *m, unsigned i)
{
    return i < BK_MSG_CPU_WORDS ? m->mr[i] : bk_ipc_buffer->mr[i];
}

static inline void bk_proto_set_word(struct bk_msg *m, unsigned i, uint64_t w)
{
    if (i < BK_MSG_CPU_WORDS)
        m->mr[i] = w;
    else
        bk_ipc_buffer->mr[i] = w;
}

/* The words a name of at most `max` characters takes: 8 characters a word,
 * the first in the word's low byte, zeros after the last. */
#define BK_PROTO_NAME_WORDS(max) (((max) + 7u) / 8u)

/* True if `s` is a name that fits: at most `max` printable ASCII
 * characters (' ' to '~'). Reads at most max + 1 bytes of `s`. */
bool bk_proto_name_fits(const char *s, unsigned max);

/* Packs name `s` (which fits `max`) into words first.. of `m`. */
void bk_proto_pack_name(struct bk_msg *m, unsigned first, const char *s, unsigned max);

/* Unpacks a name of at most `max` characters from words first.. of `m`
 * into out[max + 1], NUL-terminated. False, with out empty, if the words
 * do not hold one: an unprintable character, or a non-zero byte after the
 * first zero. */
bool bk_proto_unpack_name(const struct bk_msg *m, unsigned first, unsigned max, char *out);

/* Copies `s` into out[max + 1] as a name: at most `max` characters, each
 * unprintable one replaced by '?' (for names a server puts in an error). */
void bk_proto_copy_name(char *out, const char *s, unsigned max);

/* Checks a request's shape: exactly `words` words and `caps` capabilities,
 * none of them arrived as a badge. 0, or BAD_LENGTH or BAD_CAPS with the
 * numbers in `f`. */
int bk_proto_check_shape(const struct bk_msg *m, unsigned words, unsigned caps,
                         struct bk_proto_fault *f);

/* Fills `f` for a shared error and returns `code`. */
int bk_proto_fault(struct bk_proto_fault *f, int code, uint64_t a, uint64_t b, uint64_t c);

/* The words a shared error carries on the wire; -1 for one that never
 * travels (IPC, BAD_REPLY) or is no shared error. */
int bk_proto_fault_length(int code);

/* Writes the error reply for shared error `code` of protocol `id` into `m`. */
void bk_proto_fault_reply(struct bk_msg *m, uint64_t id, int code, const struct bk_proto_fault *f);

/* What a reply to a request with label `label` comes to: 0 if it is the
 * success reply with `words` words; else an error code whose wire length
 * the reply has (own_length(code) for the protocol's own codes, -1 when
 * unknown); else IPC (a kernel error label) or BAD_REPLY. Checks the label,
 * the length and that no capability came. */
int bk_proto_reply_code(const struct bk_msg *m, uint64_t label, unsigned words,
                        int (*own_length)(int code));

/* bk_proto_reply_code() for a method whose success reply carries `caps`
 * capabilities (0 or 1; none arriving as a badge); an error reply
 * carries none. */
int bk_proto_reply_code_caps(const struct bk_msg *m, uint64_t label, unsigned words,
                             unsigned caps, int (*own_length)(int code));

/* The receive slot of the calling thread's IPC buffer, saved while a
 * client stub has a capability its answer carries land in `slot` (a cap
 * address of the caller's CSpace, resolved at full depth from its root
 * CNode). A server thread that calls another server keeps its own receive
 * slot for the requests it serves. */
struct bk_proto_receive {
    uint64_t cnode, index, depth;
};
struct bk_proto_receive bk_proto_receive_at(bk_cptr_t slot);

/* Puts the saved receive slot back after the Call; when the answer `m` was
 * not the method's success (`ok` false) yet a capability landed in `slot`
 * (only a faulty server sends one with an error), deletes it, so a failed
 * call leaves the caller's CSpace as it was. */
void bk_proto_receive_done(const struct bk_proto_receive *saved, bk_cptr_t slot,
                           const struct bk_msg *m, bool ok);

/* The numbers of shared error `code` from reply `m` (see above). */
void bk_proto_fault_unpack(const struct bk_msg *m, int code, struct bk_proto_fault *f);

/* The text of shared error `code` for method `method` of `protocol`
 * (`args`: the method's argument names, `nargs` of them), as snprintf. */
int bk_proto_fault_format(char *buf, size_t size, const char *protocol, const char *method,
                          const char *const *args, unsigned nargs, int code,
                          const struct bk_proto_fault *f);

/* A byte count as a person reads it: "0", "4 MiB", "8 KiB", or "1536 B"
 * when no unit divides it. Returns `buf` (BK_PROTO_SIZE_TEXT bytes). */
#define BK_PROTO_SIZE_TEXT 32
const char *bk_proto_size_text(char *buf, uint64_t bytes);
