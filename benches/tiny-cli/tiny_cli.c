/*
 * The "tiny compiled fake CLI" of benchmark items 1, 2 and 5 (issue #8): it
 * reads the prompt from stdin to the end and prints three stream-json lines,
 * the ones `fake-claude` prints in its `trivial` scenario (init, one assistant
 * message, a successful result with cost and tokens), then exits 0.
 *
 * It is C, linked statically where the C library allows (benches/build.rs), so
 * that a run costs what exec and exit cost and little else: the benchmark
 * measures what the runner (the JobManager, asyncio, the floors) adds per job.
 * fake-claude, the test double with twenty scenarios, is a 5 MB dynamically
 * linked Rust program and costs about 0.4 ms more CPU per run; items 3 and 4
 * still use it.
 */
#include <errno.h>
#include <unistd.h>

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

int main(void) {
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
