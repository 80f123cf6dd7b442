/* pollfloor.c -- how long a sleeping poll() takes to wake, with N idle sockets beside the busy one
 * SPDX-License-Identifier: MIT
 *
 * The measurement behind server.c's "The poll set": a child process
 * sleeps in poll() on N accepted loopback sockets (or, with mode 1, in
 * poll() on one epoll descriptor that watches them) and echoes a byte on
 * whichever is readable; the parent sends one byte on the first socket
 * every 100 ms and times the echo. With N idle sockets, a poll() that
 * sleeps on all of them pays a scan of all N to register, and another to
 * find the ready one after the wake-up, so the round trip grows with N;
 * through epoll it does not.
 *
 *   build/pollfloor N MODE     N sockets; MODE 0 = poll() on all of them,
 *                              1 = poll() on an epoll descriptor
 * Prints "N=... mode=... p50=... us max=... us". Needs `ulimit -n` above
 * 2N + 10 (it holds both ends of every connection).
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES 50

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(0, sizeof s, &s);
}

/* Echo one read's bytes back on fd; exit when the parent hangs up. */
static void echo(int fd)
{
    char b[64];
    ssize_t n = read(fd, b, sizeof b);
    if (n <= 0)
        _exit(0);
    if (write(fd, b, (size_t)n) != n)
        _exit(1);
}

/* The server: sleep in poll() on every socket, or on one epoll
 * descriptor that holds them all, and echo what comes. Never returns. */
static void serve(const int *fds, int n, int mode)
{
    pin(0);
    if (mode == 0) {
        struct pollfd *p = calloc((size_t)n, sizeof *p);
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        for (;;) {
            int ready = poll(p, (nfds_t)n, -1);
            for (int i = 0; i < n && ready > 0; i++) {
                if (p[i].revents) {
                    ready--;
                    echo(p[i].fd);
                }
            }
        }
    }
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fds[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
    }
    struct pollfd p = {.fd = ep, .events = POLLIN};
    for (;;) {
        struct epoll_event ev[64];
        poll(&p, 1, -1);
        int ready = epoll_wait(ep, ev, 64, 0);
        for (int i = 0; i < ready; i++)
            echo(ev[i].data.fd);
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pollfloor N MODE (0: poll on all, 1: poll on epoll)\n");
        return 2;
    }
    int n = atoi(argv[1]), mode = atoi(argv[2]);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (n < 1 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4096) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0) {
        perror("pollfloor: listen");
        return 1;
    }
    int *client = calloc((size_t)n, sizeof *client), *server = calloc((size_t)n, sizeof *server);
    for (int i = 0; i < n; i++) {
        client[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(client[i], (struct sockaddr *)&a, sizeof a) != 0 ||
            (server[i] = accept(l, NULL, NULL)) < 0) {
            perror("pollfloor: connect (is ulimit -n high enough?)");
            return 1;
        }
    }
    int one = 1;
    setsockopt(client[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pid_t child = fork();
    if (child == 0)
        serve(server, n, mode);
    pin(1);
    double rtt[SAMPLES];
    for (int k = 0; k < SAMPLES; k++) {
        usleep(100000); /* long enough for the server to be asleep again */
        double t = now_us();
        char b = 'x';
        if (write(client[0], &b, 1) != 1 || read(client[0], &b, 1) != 1) {
            perror("pollfloor: echo");
            return 1;
        }
        rtt[k] = now_us() - t;
    }
    qsort(rtt, SAMPLES, sizeof rtt[0], by_value);
    printf("N=%d mode=%d p50=%.0f us max=%.0f us\n", n, mode, rtt[SAMPLES / 2], rtt[SAMPLES - 1]);
    kill(child, SIGKILL);
    return 0;
}
