/*
 * The "tiny compiled fake CLI" of benchmark items 1, 2 and 5 (issue #8): it
 * reads the prompt from stdin to the end and prints three stream-json lines,
 * the ones `fake-claude` prints in its `trivial` scenario (init, one assistant
 * message, a successful result with cost and tokens), then exits 0.
 *
 * It is C, built without the C library where it can be (x86_64, aarch64), else
 * linked with it statically, else dynamically (benches/build.rs), so that a
 * run costs what exec and exit cost and little else: the benchmark measures
 * what the runner (the JobManager, asyncio, the floors) adds per job.
 * fake-claude, the test double with twenty scenarios, is a 5 MB dynamically
 * linked Rust program and costs about 0.4 ms more CPU per run; items 3 and 4
 * still use it.
 */
#ifdef TINY_NOLIBC
/*
 * Freestanding build (benches/build.rs tries it first): no C library, so no
 * C-library start-up. glibc's static start-up decodes the CPU's cache
 * descriptors with CPUID (init_cacheinfo); on this VM each CPUID traps to the
 * hypervisor and the start-up alone cost about 0.38 ms of CPU per run, more
 * than the rest of the run. Three system calls: read, write, exit_group.
 */
typedef long ssize_t;
typedef unsigned long size_t;
#define EINTR 4

#if !defined(__linux__) || defined(__ILP32__)
#error "freestanding tiny-cli: 64-bit Linux only (build.rs falls back to libc)"
#endif
#if defined(__x86_64__)
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
enum { SYS_READ = 0, SYS_WRITE = 1, SYS_EXIT_GROUP = 231 };
#elif defined(__aarch64__)
static long sys3(long n, long a, long b, long c) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
enum { SYS_READ = 63, SYS_WRITE = 64, SYS_EXIT_GROUP = 94 };
#else
#error "freestanding tiny-cli: x86_64 and aarch64 only (build.rs falls back to libc)"
#endif

static int errno;
static ssize_t read(int fd, void *buf, size_t n) {
    long r = sys3(SYS_READ, fd, (long)buf, (long)n);
    if (r < 0) { errno = (int)-r; return -1; }
    return r;
}
static ssize_t write(int fd, const void *buf, size_t n) {
    long r = sys3(SYS_WRITE, fd, (long)buf, (long)n);
    if (r < 0) { errno = (int)-r; return -1; }
    return r;
}
static int run(void);
__attribute__((noreturn, used)) void tiny_main(void) {
    sys3(SYS_EXIT_GROUP, run(), 0, 0);
    __builtin_trap(); /* exit_group does not return */
}
#if defined(__x86_64__)
/* The kernel enters with rsp 16-byte aligned; a call pushes 8 more. */
__asm__(".pushsection .text\n.global _start\n.type _start, @function\n_start:\n"
        "  xor %rbp, %rbp\n  and $-16, %rsp\n  call tiny_main\n  ud2\n.popsection\n");
#else
__asm__(".pushsection .text\n.global _start\n.type _start, %function\n_start:\n"
        "  mov x29, #0\n  mov x30, #0\n  bl tiny_main\n  brk #0\n.popsection\n");
#endif
#else
#include <errno.h>
#include <unistd.h>
static int run(void);
int main(void) { return run(); }
#endif

static const char out[] =
    "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"7c1e5a52-0d6b-4c1b-9d8e-2f6a3b9c1d00\","
    "\"model\":\"claude-fake-model\",\"claude_code_version\":\"0.0.0-fake\",\"tools\":[],"
    "\"cwd\":\".\",\"permissionMode\":\"default\"}\n"
    "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-fake-model\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],"
    "\"usage\":{\"input_tokens\":12,\"output_tokens\":7}},"
    "\"session_id\":\"7c1e5a52-0d6b-4c1b-9d8e-2f6a3b9c1d00\"}\n"
    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"duration_ms\":1,"
    "\"duration_api_ms\":0,\"num_turns\":1,\"result\":\"ok\","
    "\"session_id\":\"7c1e5a52-0d6b-4c1b-9d8e-2f6a3b9c1d00\",\"total_cost_usd\":0.0123,"
    "\"usage\":{\"input_tokens\":12,\"output_tokens\":7,\"cache_creation_input_tokens\":0,"
    "\"cache_read_input_tokens\":0},\"terminal_reason\":\"completed\"}\n";

static int run(void) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    const char *p = out;
    size_t left = sizeof out - 1;
    while (left > 0) {
        ssize_t n = write(1, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 1;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}
