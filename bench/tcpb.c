/* tcpb: the TCP helper of bench/run. Linked statically so the same binary runs on the host
 * and, bind-mounted read-only, inside a busybox container.
 *
 *   tcpb sink PORT                 accept forever; read each connection to EOF, then answer
 *                                  with the byte count (8 bytes, little endian) and close
 *   tcpb send ADDR PORT MIB        connect, write MIB MiB, shut down the write side, wait for
 *                                  the sink's count; print "<MB/s> <bytes>" (MB = 10^6 bytes)
 *   tcpb http ADDR PORT SECONDS    HTTP/1.0 GETs of / one after another (a new connection each,
 *                                  as busybox httpd closes it) for SECONDS; print
 *                                  "<requests/s> <p50 ms> <p99 ms> <requests>"
 *   tcpb wait ADDR PORT SECONDS    exit 0 as soon as a connection to ADDR:PORT succeeds
 *
 * The sender's clock stops when the sink has confirmed every byte, so socket buffers do not
 * inflate the figure. Only IPv4 literals: the bench talks to loopback and its own bridge. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK = 256 * 1024 };
static char buf[CHUNK];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "tcpb: %s: %s\n", what, strerror(errno));
    exit(1);
}

static struct sockaddr_in addr_of(const char *ip, const char *port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "tcpb: %s is not an IPv4 address\n", ip);
        exit(2);
    }
    return a;
}

static int connect_to(const struct sockaddr_in *a) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (const struct sockaddr *)a, sizeof *a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static _Noreturn void sink(const char *port) {
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) die("socket");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of("0.0.0.0", port);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(ls, 64) < 0) die("listen");
    for (;;) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR) continue;
            die("accept");
        }
        uint64_t total = 0;
        for (;;) {
            ssize_t r = read(c, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            total += (uint64_t)r;
        }
        unsigned char le[8];
        for (int i = 0; i < 8; i++) le[i] = (unsigned char)(total >> (8 * i));
        (void)write_all(c, (const char *)le, sizeof le);
        close(c);
    }
}

static int send_bytes(const char *ip, const char *port, const char *mib) {
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in a = addr_of(ip, port);
    uint64_t want = (uint64_t)atoll(mib) * 1024 * 1024;
    memset(buf, 'x', sizeof buf);
    double t0 = now_s();
    int fd = connect_to(&a);
    if (fd < 0) die("connect");
    for (uint64_t sent = 0; sent < want;) {
        size_t n = want - sent < CHUNK ? (size_t)(want - sent) : CHUNK;
        if (write_all(fd, buf, n) < 0) die("write");
        sent += n;
    }
    if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
    unsigned char le[8];
    size_t got = 0;
    while (got < sizeof le) {
        ssize_t r = read(fd, le + got, sizeof le - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            fprintf(stderr, "tcpb: the sink closed before confirming the bytes\n");
            return 1;
        }
        got += (size_t)r;
    }
    double dt = now_s() - t0;
    close(fd);
    uint64_t total = 0;
    for (int i = 0; i < 8; i++) total |= (uint64_t)le[i] << (8 * i);
    if (total != want) {
        fprintf(stderr, "tcpb: sent %llu bytes, the sink counted %llu\n", (unsigned long long)want,
                (unsigned long long)total);
        return 1;
    }
    printf("%.1f %llu\n", (double)want / dt / 1e6, (unsigned long long)want);
    return 0;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static int http(const char *ip, const char *port, const char *seconds) {
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in a = addr_of(ip, port);
    double limit = atof(seconds);
    size_t cap = 1 << 16, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    if (!lat) die("malloc");
    static const char req[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
    double start = now_s();
    while (now_s() - start < limit) {
        double t0 = now_s();
        int fd = connect_to(&a);
        if (fd < 0) die("connect");
        if (write_all(fd, req, sizeof req - 1) < 0) die("write");
        size_t body = 0;
        for (;;) {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) die("read");
            if (r == 0) break;
            if (body == 0 && strncmp(buf, "HTTP/1.", 7) != 0) {
                fprintf(stderr, "tcpb: not an HTTP answer\n");
                return 1;
            }
            body += (size_t)r;
        }
        close(fd);
        if (body == 0) {
            fprintf(stderr, "tcpb: empty HTTP answer\n");
            return 1;
        }
        if (n == cap) {
            cap *= 2;
            lat = realloc(lat, cap * sizeof *lat);
            if (!lat) die("realloc");
        }
        lat[n++] = now_s() - t0;
    }
    double dt = now_s() - start;
    if (n == 0) {
        fprintf(stderr, "tcpb: no request completed\n");
        return 1;
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    size_t p99 = (n * 99 + 99) / 100;
    printf("%.0f %.3f %.3f %zu\n", (double)n / dt, lat[n / 2] * 1e3, lat[(p99 ? p99 : 1) - 1] * 1e3, n);
    free(lat);
    return 0;
}

static int wait_port(const char *ip, const char *port, const char *seconds) {
    struct sockaddr_in a = addr_of(ip, port);
    double deadline = now_s() + atof(seconds);
    do {
        int fd = connect_to(&a);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        usleep(20 * 1000);
    } while (now_s() < deadline);
    fprintf(stderr, "tcpb: nothing listens on %s:%s\n", ip, port);
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "sink") == 0) sink(argv[2]);
    if (argc == 5 && strcmp(argv[1], "send") == 0) return send_bytes(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "http") == 0) return http(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "wait") == 0) return wait_port(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: tcpb sink PORT | send ADDR PORT MIB | http ADDR PORT SECONDS | wait ADDR PORT SECONDS\n");
    return 2;
}
