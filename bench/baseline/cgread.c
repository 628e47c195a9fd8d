/*
 * cgread: the lower bound for a per-second sweep over cgroup files.
 *
 *   cgread LISTFILE SWEEPS MAXOPEN
 *
 * Reads the newline-separated paths in LISTFILE. The first MAXOPEN of them are opened once
 * (O_RDONLY|O_CLOEXEC) and kept; the rest are opened, read and closed on every sweep (the same
 * split the agent's HandleBudget makes when it runs out of descriptors). Each sweep preads every
 * file from offset 0 into a 4096-byte buffer (kernfs regenerates the text on each read from offset 0)
 * and sums the digits of the first number, so the compiler cannot drop the read. One untimed
 * warm-up sweep comes first (the first read of a kernfs handle allocates its seq_file buffer),
 * then SWEEPS sweeps, each timed with CLOCK_MONOTONIC. Prints one line:
 *
 *   sweeps=S files=F kept=K median_ns=... min_ns=... user_ms=... sys_ms=... errors=E sink=X
 *
 * user_ms and sys_ms are getrusage(RUSAGE_SELF) over the timed sweeps only.
 * Exits 1 when a read failed (errors=E counts them), 2 on bad arguments.
 *
 * Build: gcc -O2 -o bench/baseline/cgread bench/baseline/cgread.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 4096

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sum of the digits of the first number in buf[0..n). */
static uint64_t digit_sum(const char *buf, ssize_t n)
{
    ssize_t i = 0;
    uint64_t sum = 0;
    while (i < n && (buf[i] < '0' || buf[i] > '9'))
        i++;
    while (i < n && buf[i] >= '0' && buf[i] <= '9')
        sum += (uint64_t)(buf[i++] - '0');
    return sum;
}

static ssize_t pread_retry(int fd, char *buf)
{
    ssize_t n;
    do
        n = pread(fd, buf, BUF_SIZE, 0);
    while (n < 0 && errno == EINTR);
    return n;
}

static int open_retry(const char *path)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd;
}

/* Reads the list: one path a line, blank lines skipped. Returns the count, -1 on failure. */
static long read_list(const char *file, char ***paths_out)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return -1;
    size_t cap = 1024, count = 0, len = 0;
    char **paths = malloc(cap * sizeof *paths);
    char *line = NULL;
    ssize_t got;
    while (paths && (got = getline(&line, &len, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0)
            continue;
        if (count == cap) {
            cap *= 2;
            char **grown = realloc(paths, cap * sizeof *paths);
            if (!grown) {
                free(paths);
                paths = NULL;
                break;
            }
            paths = grown;
        }
        paths[count] = strdup(line);
        if (!paths[count]) {
            free(paths);
            paths = NULL;
            break;
        }
        count++;
    }
    free(line);
    fclose(f);
    if (!paths)
        return -1;
    *paths_out = paths;
    return (long)count;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cgread LISTFILE SWEEPS MAXOPEN\n");
        return 2;
    }
    char *end;
    long sweeps = strtol(argv[2], &end, 10);
    if (*end || sweeps < 1) {
        fprintf(stderr, "cgread: SWEEPS must be a positive integer\n");
        return 2;
    }
    long maxopen = strtol(argv[3], &end, 10);
    if (*end || maxopen < 0) {
        fprintf(stderr, "cgread: MAXOPEN must be a non-negative integer\n");
        return 2;
    }

    char **paths;
    long files = read_list(argv[1], &paths);
    if (files < 0) {
        fprintf(stderr, "cgread: cannot read %s: %s\n", argv[1], strerror(errno));
        return 2;
    }

    int *fds = malloc((size_t)(files > 0 ? files : 1) * sizeof *fds);
    uint64_t *times = malloc((size_t)sweeps * sizeof *times);
    if (!fds || !times) {
        fprintf(stderr, "cgread: out of memory\n");
        return 2;
    }
    long kept = 0, errors = 0;
    for (long i = 0; i < files; i++) {
        fds[i] = -1;
        if (kept < maxopen) {
            fds[i] = open_retry(paths[i]);
            if (fds[i] < 0) {
                fprintf(stderr, "cgread: open %s: %s\n", paths[i], strerror(errno));
                errors++;
            } else {
                kept++;
            }
        }
    }

    static char buf[BUF_SIZE];
    volatile uint64_t sink = 0;
    struct rusage before, after;

    for (long s = -1; s < sweeps; s++) {
        if (s == 0)
            getrusage(RUSAGE_SELF, &before);
        uint64_t t0 = now_ns();
        uint64_t acc = 0;
        for (long i = 0; i < files; i++) {
            int fd = fds[i];
            int opened = 0;
            if (fd < 0) {
                fd = open_retry(paths[i]);
                if (fd < 0) {
                    errors++;
                    continue;
                }
                opened = 1;
            }
            ssize_t n = pread_retry(fd, buf);
            if (n < 0)
                errors++;
            else
                acc += digit_sum(buf, n);
            if (opened)
                close(fd);
        }
        uint64_t t1 = now_ns();
        sink += acc;
        if (s >= 0)
            times[s] = t1 - t0;
    }
    getrusage(RUSAGE_SELF, &after);

    uint64_t min = times[0];
    for (long s = 1; s < sweeps; s++)
        if (times[s] < min)
            min = times[s];
    qsort(times, (size_t)sweeps, sizeof *times, cmp_u64);
    uint64_t median = sweeps % 2 ? times[sweeps / 2] : (times[sweeps / 2 - 1] + times[sweeps / 2]) / 2;

    double user_ms = tv_ms(after.ru_utime) - tv_ms(before.ru_utime);
    double sys_ms = tv_ms(after.ru_stime) - tv_ms(before.ru_stime);
    printf("sweeps=%ld files=%ld kept=%ld median_ns=%llu min_ns=%llu user_ms=%.1f sys_ms=%.1f errors=%ld sink=%llu\n",
           sweeps, files, kept, (unsigned long long)median, (unsigned long long)min, user_ms, sys_ms, errors,
           (unsigned long long)sink);

    for (long i = 0; i < files; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        free(paths[i]);
    }
    free(paths);
    free(fds);
    free(times);
    return errors ? 1 : 0;
}
