/* fuzz.h - what the fuzz targets share: the libFuzzer entry point and a
 * scratch folder of this process for the entry points that read files
 * (the scenario loader, traces, safetensors). Each target is one .c file
 * with LLVMFuzzerTestOneInput; replay_main.c runs it on files for ctest. */
#ifndef THAW_FUZZ_H
#define THAW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A folder of this process's own (created once, removed at exit); NULL
 * when it cannot be made. */
const char *fuzz_scratch_dir(void);
/* Writes size bytes to NAME in the scratch folder and returns its path (a
 * static buffer), or NULL. */
const char *fuzz_write_file(const char *name, const void *data, size_t size);
/* data as a NUL-terminated string (malloc'ed; embedded NULs end it early). */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif
