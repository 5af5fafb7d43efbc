/* fuzz_safetensors.c - the safetensors reader: the input is one
 * .safetensors file (8-byte length, JSON header, data). */
#include "fuzz.h"

#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("w.safetensors", data, size);
    if (!path) return 0;
    struct exec_safetensors *st = NULL;
    struct thaw_err err = {0, ""};
    if (exec_safetensors_open(path, &st, &err) == 0) exec_safetensors_free(st);
    return 0;
}
