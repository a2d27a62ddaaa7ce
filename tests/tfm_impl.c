/* The one translation unit that compiles the implementation of every header for the tests.
   tests/run.sh compiles it as C, and as C++ (g++, clang++) to check the headers build as C++. */
#define TFM_IMPLEMENTATION
#include "tfm.h"
