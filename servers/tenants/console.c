/*
 * The tenant manager's console on the serial line (docs/tenants.md): a
 * line editor over the bytes the kernel's UART receives (Debug:
 * ConsoleRead, woken by the receive interrupt through our IRQHandler),
 * and the commands, which run the protocol's handlers as the
 * administrator would, so a command is checked exactly as a request is.
 *
 *   help | list | stop NAME | start NAME | kill NAME | exit
 *   create NAME PROGRAM mem=SIZE cpu=PERCENT [cpumax=PERCENT weight=N on=CPU]
 *          [disk=SIZE io=IOPS limit=IOPS]
 *   quota NAME [mem=SIZE] [cpu=PERCENT] [cpumax=PERCENT] [weight=N] [io=IOPS] [limit=IOPS]
 *
 * Output goes to the kernel console (Debug: Write), which is the same
 * serial line.
 */
#include <bulkhead/format.h>

#include "tenants.h"

#define LINE_MAX 80
#define WORDS_MAX 10
#define PROMPT "tenants> "

static struct {
    char line[LINE_MAX + 1];
    unsigned len;
    bool after_cr; /* the last byte was CR: a following LF ends nothing */
    bool too_long; /* bytes were dropped past LINE_MAX: the line is refused */
    bool on;
} con;

/* ---- Output -------------------------------------------------------------- */

static void say_error(const struct tenants_call *call)
{
    char text[200];
    tenants_error_format(&call->error, text, sizeof(text));
    debug_printf("error: %s\n", text);
}

static const char *size_text(char *buf, uint64_t bytes)
{
    return bk_proto_size_text(buf, bytes);
}

/* ---- Arguments ------------------------------------------------------------ */

/* "4096", "512K", "4M", "1G" (binary units) into bytes; false if not. */
static bool parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *c = s;
    for (; *c >= '0' && *c <= '9'; c++) {
        if (v > (1ull << 40))
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (c == s)
        return false;
    unsigned shift = 0;
    if (*c == 'K' || *c == 'k')
        shift = 10;
    else if (*c == 'M' || *c == 'm')
        shift = 20;
    else if (*c == 'G' || *c == 'g')
        shift = 30;
    if (shift)
        c++;
    if (*c == 'i' && shift) /* "KiB" */
        c++;
    if ((*c == 'B' || *c == 'b') && shift)
        c++;
    *out = v << shift;
    return *c == 0;
}

/* "20%" or "20" into 20; false if not a number (the range is checked by
 * the handlers, which name the tenant). */
static bool parse_percent(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    const char *c = s;
    for (; *c >= '0' && *c <= '9' && v < 100000; c++)
        v = v * 10 + (uint32_t)(*c - '0');
    if (c == s || (*c == '%' && c[1] != 0) || (*c != '%' && *c != 0))
        return false;
    *out = v;
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return false;
    return true;
}

/* A command's quotas: 0 for one not given. */
struct quotas {
    uint64_t memory, disk;
    uint32_t cpu, cpu_limit, weight, on_cpu, io_iops, io_limit;
};

/* What follows the '=' of an option the caller matched. */
static const char *value_of(const char *word)
{
    while (*word++ != '=')
        ;
    return word;
}

static bool size_option(const char *word, uint64_t *out)
{
    const char *v = value_of(word);
    if (parse_size(v, out) && *out)
        return true;
    debug_printf("error: %s: not a size (a number of bytes, or with K, M or G: 512K, 4M)\n",
                 word);
    return false;
}

/* A percent, or (iops) a count of operations per second. */
static bool number_option(const char *word, uint32_t *out, bool percent)
{
    const char *v = value_of(word);
    const char *end = v + strlen(v);
    if (parse_percent(v, out) && (percent || end == v || end[-1] != '%'))
        return true;
    debug_printf(percent ? "error: %s: not a percent (20%% or 20)\n"
                         : "error: %s: not a number of operations per second (100)\n", word);
    return false;
}

/* mem=SIZE, cpu=PERCENT and (with `disk`) disk=SIZE, io=IOPS and
 * limit=IOPS options from words[first..]. False (said) on anything else. */
static bool parse_quotas(char **words, unsigned n, unsigned first, bool disk, struct quotas *q)
{
    *q = (struct quotas){ 0 };
    for (unsigned i = first; i < n; i++) {
        const char *w = words[i];
        bool ok;
        if (starts_with(w, "mem="))
            ok = size_option(w, &q->memory);
        else if (starts_with(w, "cpu="))
            ok = number_option(w, &q->cpu, true);
        else if (starts_with(w, "cpumax="))
            ok = number_option(w, &q->cpu_limit, true);
        else if (starts_with(w, "weight="))
            ok = number_option(w, &q->weight, false);
        else if (starts_with(w, "io="))
            ok = number_option(w, &q->io_iops, false);
        else if (starts_with(w, "limit="))
            ok = number_option(w, &q->io_limit, false);
        else if (disk && starts_with(w, "disk="))
            ok = size_option(w, &q->disk);
        else if (disk && starts_with(w, "on="))
            ok = number_option(w, &q->on_cpu, false);
        else {
            debug_printf("error: %s: unknown option (mem=SIZE, cpu=PERCENT, cpumax=PERCENT, "
                         "weight=N, %sio=IOPS, limit=IOPS)\n", w,
                         disk ? "on=CPU, disk=SIZE, " : "");
            ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* The tenant a command names, or NULL (said). */
static struct tenant *named(const char *name)
{
    struct tenant *t = tenant_by_name(name);
    if (!t)
        debug_printf("error: no tenant named '%s' (list shows them)\n", name);
    return t;
}

static bool name_fits(const char *what, const char *s)
{
    if (strlen(s) < TENANTS_NAME)
        return true;
    debug_printf("error: %s '%s' is too long (at most %u characters)\n", what, s,
                 TENANTS_NAME - 1);
    return false;
}

/* ---- Commands ------------------------------------------------------------- */

static void cmd_help(void)
{
    debug_printf("commands:\n"
                 "  list                                   tenants, state, CPU, memory, IO\n"
                 "  create NAME PROGRAM mem=SIZE cpu=PCT   a tenant of PROGRAM, started\n"
                 "         [cpumax=PCT weight=N on=CPU]  its CPU limit, weight, CPU\n"
                 "         [disk=SIZE io=IOPS limit=IOPS]  with a disk and disk time\n"
                 "  quota NAME [mem=SIZE] [cpu=PCT]        change its quotas\n"
                 "         [cpumax=PCT] [weight=N] [io=IOPS] [limit=IOPS]\n"
                 "  stop NAME | start NAME                 stop its thread, start it again\n"
                 "  kill NAME                              kill it, print the bytes freed\n"
                 "  exit                                   leave the console\n"
                 "  help                                   this text\n");
}

/* A CPU quota: "20 %", or with a scheduler server's limit or weight other
 * than the defaults "20-40 % w3"; "@1" after it on a CPU other than 0. */
static void cpu_text(char *buf, size_t size, uint32_t cpu, uint32_t limit, uint32_t weight,
                     uint32_t on_cpu)
{
    char on[8] = "";
    if (on_cpu)
        bk_snprintf(on, sizeof(on), " @%u", on_cpu);
    if (limit == cpu && weight <= 1)
        bk_snprintf(buf, size, "%u %%%s", cpu, on);
    else
        bk_snprintf(buf, size, "%u-%u %% w%u%s", cpu, limit, weight, on);
}

static void list_row(struct tenant *t)
{
    struct tenants_call call = { 0 };
    struct tenant_usage u;
    if (tenant_usage(&call, t, &u)) {
        say_error(&call);
        return;
    }
    char used[BK_PROTO_SIZE_TEXT], quota[BK_PROTO_SIZE_TEXT], memory[2 * BK_PROTO_SIZE_TEXT];
    char disk[BK_PROTO_SIZE_TEXT], io[80] = "-", cpu[24];
    bk_snprintf(memory, sizeof(memory), "%s / %s", size_text(used, u.memory_used),
                size_text(quota, t->memory));
    if (t->io_tenant && t->table) /* its disk is the table's */
        bk_snprintf(io, sizeof(io), "%llu ops, %u-%u IOPS", (unsigned long long)u.io_ops,
                    t->io_iops, t->io_limit);
    else if (t->io_tenant)
        bk_snprintf(io, sizeof(io), "%llu ops, %u-%u IOPS, disk %s",
                    (unsigned long long)u.io_ops, t->io_iops, t->io_limit,
                    size_text(disk, t->disk_sectors * TENANTS_SECTOR));
    cpu_text(cpu, sizeof(cpu), t->cpu, t->sched_id ? t->cpu_limit : t->cpu, t->weight,
             t->on_cpu);
    if (t->table && !t->sched_id)
        bk_snprintf(cpu, sizeof(cpu), "-"); /* its time is the table's budget */
    debug_printf("%-15s %-8s %3u.%u %% %12s   %-22s %s\n", t->name, tenant_state(t),
                 u.cpu_permille / 10, u.cpu_permille % 10, cpu, memory, io);
}

static void cmd_list(void)
{
    char left[BK_PROTO_SIZE_TEXT], all[BK_PROTO_SIZE_TEXT];
    unsigned n = tenants_created();
    debug_printf("%-15s %-8s %7s %12s   %-22s %s\n", "tenant", "state", "CPU", "quota",
                 "memory used / quota", "IO");
    for (unsigned i = 0; i < TENANTS_MAX; i++) {
        if (manager.tenants[i].live)
            list_row(&manager.tenants[i]);
    }
    char io[48] = "", table[40] = "";
    if (manager.io.on)
        bk_snprintf(io, sizeof(io), ", IO %u IOPS of %u", manager.io.iops - manager.io.iops_given,
                    manager.io.iops);
    unsigned seen = 0;
    for (unsigned i = 0; i < TENANTS_MAX; i++)
        seen += manager.tenants[i].live && manager.tenants[i].table;
    if (seen)
        bk_snprintf(table, sizeof(table), "; and %u of the table", seen);
    debug_printf("%u tenants, allowance left: memory %s of %s, CPU %u %% of %u %%%s%s\n", n,
                 size_text(left, manager.memory - manager.memory_given),
                 size_text(all, manager.memory), manager.cpu - manager.cpu_given, manager.cpu, io,
                 table);
}

static void cmd_create(char **words, unsigned n)
{
    uint64_t id;
    struct quotas q;
    if (n < 3) {
        debug_printf("error: usage: create NAME PROGRAM mem=SIZE cpu=PERCENT [disk=SIZE io=IOPS "
                     "limit=IOPS]\n");
        return;
    }
    if (!name_fits("name", words[1]) || !name_fits("program", words[2]) ||
        !parse_quotas(words, n, 3, true, &q))
        return;
    if (!q.memory || !q.cpu) {
        debug_printf("error: create %s: give both mem=SIZE and cpu=PERCENT\n", words[1]);
        return;
    }
    struct tenants_call call = { 0 };
    if (tenants_handle_create(&call, words[1], words[2], q.memory, q.cpu, q.cpu_limit, q.weight,
                              q.on_cpu, q.io_iops, q.io_limit, q.disk, &id)) {
        say_error(&call);
        return;
    }
    char size[BK_PROTO_SIZE_TEXT], disk[BK_PROTO_SIZE_TEXT], io[80] = "", cpu[24];
    if (q.disk)
        bk_snprintf(io, sizeof(io), ", disk %s, IO %u-%u IOPS", size_text(disk, q.disk),
                    q.io_iops, q.io_limit);
    const struct tenant *t = tenant_by_name(words[1]);
    cpu_text(cpu, sizeof(cpu), q.cpu, t && t->sched_id ? t->cpu_limit : q.cpu,
             t ? t->weight : 0, q.on_cpu);
    debug_printf("created %s (tenant %llu): program %s, memory %s, CPU %s%s\n", words[1],
                 (unsigned long long)id, words[2], size_text(size, q.memory), cpu, io);
}

static void cmd_quota(char **words, unsigned n)
{
    uint64_t new_memory;
    uint32_t new_cpu, new_cpu_limit, new_weight, new_iops, new_limit;
    struct quotas q;
    if (n < 3) {
        debug_printf("error: usage: quota NAME [mem=SIZE] [cpu=PERCENT] [io=IOPS] "
                     "[limit=IOPS]\n");
        return;
    }
    struct tenant *t = named(words[1]);
    if (!t || !parse_quotas(words, n, 2, false, &q))
        return;
    struct tenants_call call = { 0 };
    if (tenants_handle_set_quota(&call, t->id, q.memory, q.cpu, q.cpu_limit, q.weight, q.io_iops,
                                 q.io_limit, &new_memory, &new_cpu, &new_cpu_limit, &new_weight,
                                 &new_iops, &new_limit)) {
        say_error(&call);
        return;
    }
    char size[BK_PROTO_SIZE_TEXT], io[48] = "", cpu[24];
    if (t->io_tenant)
        bk_snprintf(io, sizeof(io), ", IO %u-%u IOPS", new_iops, new_limit);
    cpu_text(cpu, sizeof(cpu), new_cpu, new_cpu_limit, new_weight, t->on_cpu);
    debug_printf("%s: memory quota %s, CPU %s%s\n", t->name, size_text(size, new_memory), cpu,
                 io);
}

static void cmd_kill(char **words, unsigned n)
{
    if (n != 2) {
        debug_printf("error: usage: kill NAME\n");
        return;
    }
    struct tenant *t = named(words[1]);
    if (!t)
        return;
    char name[TENANTS_NAME];
    memcpy(name, t->name, sizeof(name));
    struct tenants_call call = { 0 };
    uint64_t freed, session;
    if (tenants_handle_kill(&call, t->id, &freed, &session)) {
        say_error(&call);
        return;
    }
    char size[BK_PROTO_SIZE_TEXT], part[BK_PROTO_SIZE_TEXT];
    char io[64] = "";
    if (session)
        bk_snprintf(io, sizeof(io), ", %s of it its IO session", size_text(part, session));
    debug_printf("killed %s: %llu bytes freed (%s%s)\n", name, (unsigned long long)freed,
                 size_text(size, freed), io);
}

/* stop NAME (`run` false) or start NAME. */
static void cmd_run(char **words, unsigned n, bool run)
{
    if (n != 2) {
        debug_printf("error: usage: %s NAME\n", run ? "start" : "stop");
        return;
    }
    struct tenant *t = named(words[1]);
    if (!t)
        return;
    struct tenants_call call = { 0 };
    if (run ? tenants_handle_start(&call, t->id) : tenants_handle_stop(&call, t->id)) {
        say_error(&call);
        return;
    }
    debug_printf("%s %s\n", run ? "started" : "stopped", t->name);
}

static void cmd_exit(void)
{
    debug_printf("tenants: console closed (it still reads: another exit signals again)\n");
    struct bk_msg m = { 0 };
    sys_nbsend(TENANTS_SLOT_DONE, &m); /* a Send on a notification signals it */
}

/* Splits the line at spaces into at most WORDS_MAX words; n > WORDS_MAX
 * says there were more. */
static unsigned split(char *line, char **words)
{
    unsigned n = 0;
    for (char *c = line; *c;) {
        while (*c == ' ' || *c == '\t')
            *c++ = 0;
        if (!*c)
            break;
        if (n == WORDS_MAX)
            return WORDS_MAX + 1;
        words[n++] = c;
        while (*c && *c != ' ' && *c != '\t')
            c++;
    }
    return n;
}

static void run(char *line)
{
    char *words[WORDS_MAX];
    unsigned n = split(line, words);
    if (n == 0)
        return;
    if (n > WORDS_MAX)
        debug_printf("error: too many words (at most %u)\n", WORDS_MAX);
    else if (strcmp(words[0], "help") == 0)
        cmd_help();
    else if (strcmp(words[0], "list") == 0)
        cmd_list();
    else if (strcmp(words[0], "create") == 0)
        cmd_create(words, n);
    else if (strcmp(words[0], "quota") == 0)
        cmd_quota(words, n);
    else if (strcmp(words[0], "kill") == 0)
        cmd_kill(words, n);
    else if (strcmp(words[0], "stop") == 0)
        cmd_run(words, n, false);
    else if (strcmp(words[0], "start") == 0)
        cmd_run(words, n, true);
    else if (strcmp(words[0], "exit") == 0)
        cmd_exit();
    else
        debug_printf("error: unknown command '%s' (help lists them)\n", words[0]);
}

/* ---- The line editor -------------------------------------------------------- */

/* One received byte: printable ones are echoed and kept (past LINE_MAX
 * dropped, and the line refused), backspace and DEL erase, Ctrl-U erases
 * the line, CR or LF (CR LF once) runs it. */
static void take(char c)
{
    bool was_cr = con.after_cr;
    con.after_cr = c == '\r';
    if (c == '\r' || c == '\n') {
        if (c == '\n' && was_cr)
            return;
        debug_printf("\n");
        con.line[con.len] = 0;
        if (con.too_long)
            debug_printf("error: line longer than %u characters, not run\n", LINE_MAX);
        else
            run(con.line);
        con.len = 0;
        con.too_long = false;
        debug_printf(PROMPT);
    } else if (c == 0x08 || c == 0x7f) {
        if (con.len) {
            con.len--;
            debug_printf("\b \b");
        }
    } else if (c == 0x15) {
        for (; con.len; con.len--)
            debug_printf("\b \b");
        con.too_long = false;
    } else if (c >= ' ' && c < 0x7f) {
        if (con.len < LINE_MAX) {
            con.line[con.len++] = c;
            debug_printf("%c", c);
        } else {
            con.too_long = true;
        }
    }
}

/* Every byte the UART holds now. */
static void drain(void)
{
    for (;;) {
        uint64_t bytes = 0, count = 0;
        if (sys_debug_console_read(BK_CAP_DEBUG, &bytes, &count) != 0 || count == 0)
            return;
        for (uint64_t i = 0; i < count; i++)
            take((char)(bytes >> (8 * i)));
    }
}

bool console_start(void)
{
    /* A notification with no handler signalling it is no console. */
    if (BK_CAP_IDENTITY_TYPE(debug_cap_identify(TENANTS_SLOT_IRQ)) != BK_OBJ_IRQ_HANDLER ||
        sys_tcb_bind_notification(BK_CAP_ROOT_TCB, TENANTS_SLOT_SIGNAL) != 0)
        return false;
    con.on = true;
    return true;
}

void console_prompt(void)
{
    if (con.on)
        debug_printf(PROMPT);
}

/* Drain, acknowledge, drain again: a byte that came before the
 * acknowledgement raised no new interrupt (Debug: ConsoleRead). */
void console_interrupt(void)
{
    if (!con.on)
        return;
    drain();
    sys_irq_handler_ack(TENANTS_SLOT_IRQ);
    drain();
}
