/* arena.h - one emulated GPU's memory on the host backend, faulted in once
 * (internal to exec/). The arena is one anonymous mapping populated when it
 * is made, before a run's clock starts, and cut into fixed chunks; an
 * allocation takes any free chunks (a LIFO of chunk indices), so the arena
 * never fragments: whatever bytes are free can serve any request, and an
 * allocation or a free during the run is a few list operations under a
 * mutex - no mmap, no page fault, no munmap (each of which takes the
 * process's memory-map lock and stalls every other thread's mmap, munmap
 * and thread start). The price: an allocation is a list of chunks, not one
 * address range (exec_arena_span walks it), and each wastes under a chunk.
 *
 * Thread-safety: every function may be called from any thread. */
#ifndef THAW_EXEC_ARENA_H
#define THAW_EXEC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "thaw_err.h"

/* 2 MiB: a huge page, a multiple of EXEC_REQUEST_COLS and of 4096 (O_DIRECT
 * alignment), small enough that the waste per instance is noise. */
#define EXEC_ARENA_CHUNK (2u << 20)

struct exec_arena;

/* What one allocation holds: `count` chunks of the arena's chunk size, in
 * order (byte b of the allocation is chunks[b / chunk][b % chunk]). */
struct exec_arena_block {
    uint64_t bytes;
    size_t chunk_bytes;
    size_t count;
    uint8_t **chunks;
};

/* Maps and faults in `bytes` (rounded up to whole chunks of chunk_bytes, a
 * multiple of 4096; 0 = EXEC_ARENA_CHUNK). THAW_ENOMEM with the numbers when
 * the host cannot. */
int exec_arena_new(uint64_t bytes, size_t chunk_bytes, struct exec_arena **out,
                   struct thaw_err *err);
/* Unmaps it. Blocks still out are invalid afterwards. NULL ok. */
void exec_arena_free(struct exec_arena *a);
uint64_t exec_arena_bytes(const struct exec_arena *a);      /* chunks x chunk size */
uint64_t exec_arena_free_bytes(const struct exec_arena *a); /* free chunks x chunk size */

/* Takes ceil(bytes / chunk) free chunks into *out (its chunks array is
 * allocated here). THAW_ENOMEM when fewer are free (nothing is taken). */
int exec_arena_take(struct exec_arena *a, uint64_t bytes, struct exec_arena_block *out,
                    struct thaw_err *err);
/* Gives a block's chunks back and frees its chunks array. */
void exec_arena_give(struct exec_arena *a, struct exec_arena_block *b);

/* The contiguous piece of block b at byte offset off: its address, and in
 * *len how many bytes (at most want) follow it in the same chunk. NULL when
 * off is past the block. */
uint8_t *exec_arena_span(const struct exec_arena_block *b, uint64_t off, size_t want, size_t *len);

#endif
