/* driver.c - runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer: the regression
   files and seeds replay under any compiler and sanitizer (gcc's ASan+UBSan in tests/run.sh's fuzz
   configuration too), and a finding can be debugged with gdb or valgrind.
       cc ... tests/fuzz/fuzz_gguf.c tests/fuzz/driver.c -o replay_gguf && ./replay_gguf FILE...
   Each file is read whole and run once; a directory argument runs every file in it. Exit status 0 when
   every input ran (a target reports a broken property by aborting). */
#if !defined(_WIN32) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700 /* opendir */
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t size = 0, cap = 0, got;
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 0;
    }
    do {
        if (size == cap) {
            unsigned char *bigger = (unsigned char *)realloc(data, cap ? 2 * cap : 4096);
            if (!bigger) {
                fclose(f);
                free(data);
                return 0;
            }
            data = bigger;
            cap = cap ? 2 * cap : 4096;
        }
        got = fread(data + size, 1, cap - size, f);
        size += got;
    } while (got > 0);
    fclose(f);
    /* an exact-size copy, as libFuzzer passes it, so reads past the end are caught */
    {
        unsigned char *exact = (unsigned char *)malloc(size ? size : 1);
        if (!exact) {
            free(data);
            return 0;
        }
        memcpy(exact, data, size);
        free(data);
        LLVMFuzzerTestOneInput(exact, size);
        free(exact);
    }
    return 1;
}

int main(int argc, char **argv)
{
    int i, ran = 0, failed = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            while (dir && (e = readdir(dir)) != NULL) {
                char path[4096];
                if (e->d_name[0] == '.') continue;
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                if (run_file(path)) ran++;
                else failed++;
            }
            if (dir) closedir(dir);
        } else if (run_file(argv[i])) ran++;
        else failed++;
    }
    printf("replay: %d inputs ran, %d unreadable\n", ran, failed);
    return failed ? 1 : 0;
}
