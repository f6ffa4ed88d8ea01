// The fork server ("zygote") behind crash isolation: a process that has every codec library loaded
// and has never started a thread forks one child per file, so a child costs a fork (milliseconds)
// instead of an exec of a binary that maps 140 shared libraries (≈0.1 s of start-up per job).
// The process plumbing is here, in C, where nothing can start a thread behind our back; what a
// child runs is the Swift callback. Protocol on the socket, one line per message:
//   request  "<id> <payload>\n"        (payload: the callback's, one line, no newline inside)
//   replies  "<id> pid <pid>\n"         the child started
//            "<id> exit <status>\n"     it exited
//            "<id> signal <number>\n"   it was killed by a signal
//            "<id> error <errno>\n"     fork failed
//            "<id> done 0\n"            from the child itself: its outcome is written (it exits next;
//                                       the parent need not wait for the teardown of its memory)
// The socket is SOCK_SEQPACKET: a message is a line, and the zygote's and its children's messages
// never interleave.
// `processor process` needs no fork server: its main thread is single-threaded, so it forks each
// file's child itself (mp_fork_job) and waits for it with a timeout (mp_wait_job).
#include "CMediaShims.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { max_line = 1 << 20 };

// In a child: the socket and the request it serves (for mp_fork_server_done).
static int child_socket = -1;
static long long child_id = -1;

struct running {
    pid_t pid;
    long long id;
};

static int write_all(int fd, const char *text, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, text, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        text += n;
        length -= (size_t)n;
    }
    return 0;
}

static int reply(int sock, long long id, const char *what, long long value) {
    char line[96];
    int length = snprintf(line, sizeof line, "%lld %s %lld\n", id, what, value);
    return write_all(sock, line, (size_t)length);
}

// What every job child does first, forked by the fork server or directly (mp_fork_job).
static void become_job(void) {
    signal(SIGPIPE, SIG_DFL);
    // A crash ends the child at once by its signal, which is what the parent reads: no crash
    // handler inherited from the parent (Swift's backtracer takes seconds and pages of output).
    static const int crashes[] = {SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof crashes / sizeof *crashes; i++) signal(crashes[i], SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int mp_fork_server(int sock, pid_t parent, mp_fork_server_job prepare, mp_fork_server_job job) {
    // Its own process group: a terminal's Ctrl-C reaches the parent, which ends its jobs itself.
    setpgid(0, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    // Two malloc arenas instead of eight per core in each child: the same speed for one job's few
    // threads, and half the address space (measured: 717 → 421 MiB for a small image), which
    // RLIMIT_AS counts.
    mallopt(M_ARENA_MAX, 2);
    // Ends with its parent, whatever the parent's end.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);

    sigset_t chld, previous;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &previous);
    int children = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (children < 0) return errno;

    char *buffer = malloc(max_line);
    size_t used = 0;
    struct running *table = NULL;
    size_t count = 0, capacity = 0;
    if (!buffer) return ENOMEM;

    for (;;) {
        struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = children, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            while (read(children, &info, sizeof info) > 0) {}
            int status;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                for (size_t i = 0; i < count; i++) {
                    if (table[i].pid != pid) continue;
                    if (WIFSIGNALED(status)) reply(sock, table[i].id, "signal", WTERMSIG(status));
                    else reply(sock, table[i].id, "exit", WEXITSTATUS(status));
                    table[i] = table[--count];
                    break;
                }
            }
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(sock, buffer + used, max_line - used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // The parent is gone or done: so are its jobs (reaped, so their resource use counts in
            // the parent's, as `time` reports it).
            for (size_t i = 0; i < count; i++) kill(table[i].pid, SIGKILL);
            for (size_t i = 0; i < count; i++) waitpid(table[i].pid, NULL, 0);
            return 0;
        }
        used += (size_t)n;
        char *start = buffer;
        char *end;
        while ((end = memchr(start, '\n', used - (size_t)(start - buffer)))) {
            *end = 0;
            char *payload;
            long long id = strtoll(start, &payload, 10);
            if (*payload == ' ') payload++;
            size_t length = (size_t)(end - payload);
            if (count == capacity) {
                capacity = capacity ? capacity * 2 : 16;
                table = realloc(table, capacity * sizeof *table);
                if (!table) return ENOMEM;
            }
            if (prepare) prepare(payload, length);
            pid_t pid = fork();
            if (pid == 0) {
                sigprocmask(SIG_SETMASK, &previous, NULL);
                become_job();
                close(children);
                child_socket = sock;  // kept for mp_fork_server_done
                child_id = id;
                job(payload, length);
                _exit(0);
            }
            if (pid < 0) {
                reply(sock, id, "error", errno);
            } else {
                table[count++] = (struct running){.pid = pid, .id = id};
                reply(sock, id, "pid", pid);
            }
            start = end + 1;
        }
        used -= (size_t)(start - buffer);
        memmove(buffer, start, used);
        if (used == max_line) {  // a line longer than any request: the stream is not ours
            for (size_t i = 0; i < count; i++) kill(table[i].pid, SIGKILL);
            return EMSGSIZE;
        }
    }
}

int mp_fork_server_done(void) {
    if (child_socket < 0) return -1;
    int status = reply(child_socket, child_id, "done", 0);
    close(child_socket);
    child_socket = -1;
    return status;
}

// `processor process`: its single-threaded main forks one child per file itself (no fork server).
static sigset_t job_parent_mask;
static int job_parent_ready = 0;

pid_t mp_fork_job(void) {
    if (!job_parent_ready) {
        // SIGCHLD blocked, so mp_wait_job can wait for it with a timeout (sigtimedwait); malloc's
        // arenas as the fork server's children have them.
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, &job_parent_mask);
        mallopt(M_ARENA_MAX, 2);
        job_parent_ready = 1;
    }
    fflush(NULL);  // nothing buffered in this process is written twice
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &job_parent_mask, NULL);
        become_job();
    }
    return pid;
}

int mp_wait_job(int timeout_ms, pid_t *pid, int *exit_status, int *signal_number) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        int status;
        pid_t ended = waitpid(-1, &status, WNOHANG);
        if (ended < 0) return -1;
        if (ended > 0) {
            *pid = ended;
            *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            *signal_number = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            return 1;
        }
        struct timespec wait = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
        if (sigtimedwait(&chld, NULL, timeout_ms < 0 ? NULL : &wait) < 0) {
            if (errno == EAGAIN) return 0;
            if (errno != EINTR) return -1;
        }
    }
}

int mp_socketpair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int mp_thread_count(void) {
    FILE *status = fopen("/proc/self/status", "re");
    if (!status) return -1;
    char line[256];
    int threads = -1;
    while (fgets(line, sizeof line, status)) {
        if (sscanf(line, "Threads: %d", &threads) == 1) break;
    }
    fclose(status);
    return threads;
}
