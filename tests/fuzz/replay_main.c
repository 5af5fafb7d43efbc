/* replay_main.c - the ctest side of a fuzz target: runs
 * LLVMFuzzerTestOneInput on every file of the folders (or files) given, the
 * checked-in corpus and every past crash, so the regular gcc suite replays
 * them through the same entry function libFuzzer calls. A missing folder is
 * no error (a target may have no crashes yet). Prints how many ran. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) return -1;
    /* libFuzzer hands over exactly n bytes; a copy of that size lets ASan
     * see a read past the end. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    if (n) memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int ran = 0, bad = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) != 0) continue;
        if (!S_ISDIR(sb.st_mode)) {
            bad += run_file(argv[a]) < 0;
            ran++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) continue;
        char **names = NULL;
        size_t count = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            if (count == cap) {
                cap = cap ? cap * 2 : 64;
                char **grown = realloc(names, cap * sizeof *grown);
                if (!grown) break;
                names = grown;
            }
            names[count++] = strdup(e->d_name);
        }
        closedir(d);
        if (count) qsort(names, count, sizeof *names, by_name);
        for (size_t i = 0; i < count; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], names[i]);
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
                bad += run_file(path) < 0;
                ran++;
            }
            free(names[i]);
        }
        free(names);
    }
    printf("%d inputs replayed, %d unreadable\n", ran, bad);
    return bad ? 1 : 0;
}
