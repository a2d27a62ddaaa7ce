/* tokenizer_impl.c - the tokenizer's implementation on its own, for tests/fuzz/run.sh's long runs: built at
   -O1 while the programs that compile the rest of the library (at -O0: with the sanitizers the whole library
   does not build at -O1 in minutes of CPU) define TFM_TOKENIZER_IMPLEMENTATION_DONE (empty) and link this, so
   the encodes that most of the tokenize and vocab targets' time goes to run optimised. The tensor header's
   implementation, skipped here, names the allocator: this file names the same one. */
#include <stdlib.h>
#define TFM_MALLOC(sz) malloc(sz)
#define TFM_FREE(p) free(p)
#define TFM_REALLOC(p, sz) realloc(p, sz)
#define TFM_TENSOR_IMPLEMENTATION_DONE
#define TFM_IMPLEMENTATION
#include "tfm_tokenizer.h"
