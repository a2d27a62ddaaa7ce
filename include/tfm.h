/* tfm.h - umbrella header of tfm, a header-only transformer inference library.
   MIT or public domain, your choice (see LICENSE).

   Includes every tfm header in dependency order. In exactly one C or C++ file:
       #define TFM_IMPLEMENTATION
       #include "tfm.h"
*/
#ifndef TFM_H
#define TFM_H
#endif

#include "tfm_tensor.h"
#include "tfm_attention.h"
#include "tfm_quant.h"
#include "tfm_gguf.h"
#include "tfm_tokenizer.h"
#include "tfm_sampler.h"
#include "tfm_moe.h"
#include "tfm_model.h"
#include "tfm_embed.h"
#include "tfm_chat.h"
#include "tfm_generate.h"
