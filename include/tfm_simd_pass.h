/* tfm_simd_pass.h - internal: the instruction sets a portable x86-64 build dispatches to at run time,
   one per inclusion (see RUN-TIME DISPATCH in tfm_tensor.h). A header with kernels to dispatch includes
   its kernel file (a file without include guard) once as the build's own path, with TFM__PN(name) as
   name, then, when TFM__DISPATCH is defined, once per set between inclusions of this file:
       #include "tfm_simd_pass.h"    AVX2 + FMA + F16C begins
       #include "tfm_<h>_kernels.h"
       #include "tfm_simd_pass.h"    AVX-512 (F BW VL DQ VNNI) begins
       #include "tfm_<h>_kernels.h"
       #include "tfm_simd_pass.h"    back to the build's own (scalar) layer
   tfm_tensor.h, the first, also includes tfm_simd.h (the f32 layer) in each pass, before its kernels.
   Inside a pass: TFM__SIMD_<set>, TFM__VF_N and the set's extensions (TFM__HAS_*) are defined, the set's
   target is on for every function (#pragma GCC target, or clang's attribute pragma: both span files)
   and every name the kernel files define is suffixed by the set (TFM__PN, and the list below: a name
   added to a kernel file and missing here is a redefinition error in a portable x86-64 build).
   A portable aarch64 build (TFM__DISPATCH_DOTPROD) has one pass, NEON with the dot product, into which
   only tfm_quant.h includes its kernels (the int8 kernels are all that differ):
       #include "tfm_simd_pass.h"    NEON + dot product begins (TFM__HAS_DOTPROD)
       #include "tfm_simd.h"
       #include "tfm_quant_kernels.h"
       #include "tfm_simd_pass.h"    back to plain NEON */
#if !defined(TFM__DISPATCH) && !defined(TFM__DISPATCH_DOTPROD)
typedef int tfm__simd_pass_h_alone; /* an ISO C translation unit must declare something */
#elif !defined(TFM__DISPATCH_PASS)
#define TFM__DISPATCH_PASS 1 /* ---------------- begin AVX2 (aarch64: NEON + dot product) */
#undef TFM__PN
#define TFM__PN(name) TFM__PN_PASTE(name, TFM__PASS_SUFFIX)
#define TFM__PN_PASTE(name, suffix) TFM__PN_PASTE2(name, suffix)
#define TFM__PN_PASTE2(name, suffix) name##suffix
#define tfm__attn_chunk TFM__PN(tfm__attn_chunk)
#define tfm__attn_decode_chunk TFM__PN(tfm__attn_decode_chunk)
#define tfm__attn_decode_chunk_f32 TFM__PN(tfm__attn_decode_chunk_f32)
#define tfm__attn_decode_chunk_i8 TFM__PN(tfm__attn_decode_chunk_i8)
#define tfm__attn_decode_qk TFM__PN(tfm__attn_decode_qk)
#define tfm__attn_decode_softmax TFM__PN(tfm__attn_decode_softmax)
#define tfm__attn_dequant TFM__PN(tfm__attn_dequant)
#define tfm__attn_dqk TFM__PN(tfm__attn_dqk)
#define tfm__attn_exp TFM__PN(tfm__attn_exp)
#define tfm__attn_ld TFM__PN(tfm__attn_ld)
#define tfm__attn_ld_n TFM__PN(tfm__attn_ld_n)
#define tfm__attn_pv TFM__PN(tfm__attn_pv)
#define tfm__attn_pv_1w TFM__PN(tfm__attn_pv_1w)
#define tfm__attn_pv_4w TFM__PN(tfm__attn_pv_4w)
#define tfm__attn_pv_narrow TFM__PN(tfm__attn_pv_narrow)
#define tfm__attn_pv_row TFM__PN(tfm__attn_pv_row)
#define tfm__attn_qk_micro TFM__PN(tfm__attn_qk_micro)
#define tfm__attn_qk_row TFM__PN(tfm__attn_qk_row)
#define tfm__attn_qk_tile TFM__PN(tfm__attn_qk_tile)
#define tfm__attn_softmax_step TFM__PN(tfm__attn_softmax_step)
#define tfm__attn_tile_finish TFM__PN(tfm__attn_tile_finish)
#define tfm__attn_tile_keys TFM__PN(tfm__attn_tile_keys)
#define tfm__avx2_mask TFM__PN(tfm__avx2_mask)
#define tfm__gemm_micro TFM__PN(tfm__gemm_micro)
#define tfm__gemm_pack_block TFM__PN(tfm__gemm_pack_block)
#define tfm__gemm_pack_w TFM__PN(tfm__gemm_pack_w)
#define tfm__gemm_pack_x TFM__PN(tfm__gemm_pack_x)
#define tfm__gemm_prefetch_step TFM__PN(tfm__gemm_prefetch_step)
#define tfm__gf_move TFM__PN(tfm__gf_move)
#define tfm__k_add TFM__PN(tfm__k_add)
#define tfm__k_axpy TFM__PN(tfm__k_axpy)
#define tfm__k_bf16_to_f32_row TFM__PN(tfm__k_bf16_to_f32_row)
#define tfm__k_dot TFM__PN(tfm__k_dot)
#define tfm__k_f16_to_f32_row TFM__PN(tfm__k_f16_to_f32_row)
#define tfm__k_f32_to_bf16_row TFM__PN(tfm__k_f32_to_bf16_row)
#define tfm__k_f32_to_f16_row TFM__PN(tfm__k_f32_to_f16_row)
#define tfm__k_gelu_erf TFM__PN(tfm__k_gelu_erf)
#define tfm__k_gelu_tanh TFM__PN(tfm__k_gelu_tanh)
#define tfm__k_gemm_columns TFM__PN(tfm__k_gemm_columns)
#define tfm__k_gemm_small TFM__PN(tfm__k_gemm_small)
#define tfm__k_gemv_rows TFM__PN(tfm__k_gemv_rows)
#define tfm__k_layernorm TFM__PN(tfm__k_layernorm)
#define tfm__k_mul TFM__PN(tfm__k_mul)
#define tfm__k_rmsnorm TFM__PN(tfm__k_rmsnorm)
#define tfm__k_scale TFM__PN(tfm__k_scale)
#define tfm__k_silu TFM__PN(tfm__k_silu)
#define tfm__k_softcap TFM__PN(tfm__k_softcap)
#define tfm__k_softmax TFM__PN(tfm__k_softmax)
#define tfm__k_swiglu TFM__PN(tfm__k_swiglu)
#define tfm__qbit4 TFM__PN(tfm__qbit4)
#define tfm__qdec_iq4_nl TFM__PN(tfm__qdec_iq4_nl)
#define tfm__qdec_iq4_xs TFM__PN(tfm__qdec_iq4_xs)
#define tfm__qdec_q2_K TFM__PN(tfm__qdec_q2_K)
#define tfm__qdec_q3_K TFM__PN(tfm__qdec_q3_K)
#define tfm__qdec_q4_0 TFM__PN(tfm__qdec_q4_0)
#define tfm__qdec_q4_K TFM__PN(tfm__qdec_q4_K)
#define tfm__qdec_q5_0 TFM__PN(tfm__qdec_q5_0)
#define tfm__qdec_q5_K TFM__PN(tfm__qdec_q5_K)
#define tfm__qdec_q6_K TFM__PN(tfm__qdec_q6_K)
#define tfm__qdec_q8_0 TFM__PN(tfm__qdec_q8_0)
#define tfm__qdecode_body TFM__PN(tfm__qdecode_body)
#define tfm__qdecoder TFM__PN(tfm__qdecoder)
#define tfm__qdot4 TFM__PN(tfm__qdot4)
#define tfm__qdotv TFM__PN(tfm__qdotv)
#define tfm__qdot_body TFM__PN(tfm__qdot_body)
#define tfm__qdotm_body TFM__PN(tfm__qdotm_body)
#define tfm__qgroup_sum TFM__PN(tfm__qgroup_sum)
#define tfm__qhalf_f32 TFM__PN(tfm__qhalf_f32)
#define tfm__qhalf_u16 TFM__PN(tfm__qhalf_u16)
#define tfm__qhalf_word TFM__PN(tfm__qhalf_word)
#define tfm__qmm_body TFM__PN(tfm__qmm_body)
#define tfm__qnibbles TFM__PN(tfm__qnibbles)
#define tfm__qprefetch TFM__PN(tfm__qprefetch)
#define tfm__qprefetch_next TFM__PN(tfm__qprefetch_next)
#define tfm__qprefetch_share TFM__PN(tfm__qprefetch_share)
#define tfm__qscaled TFM__PN(tfm__qscaled)
#define tfm__qscales_k4 TFM__PN(tfm__qscales_k4)
#define tfm__qsub TFM__PN(tfm__qsub)
#define tfm__qsub_init TFM__PN(tfm__qsub_init)
#define tfm__quantize_q8_0 TFM__PN(tfm__quantize_q8_0)
#define tfm__quantize_q8_1 TFM__PN(tfm__quantize_q8_1)
#define tfm__quantize_q8_block TFM__PN(tfm__quantize_q8_block)
#define tfm__quantize_q8_K TFM__PN(tfm__quantize_q8_K)
#define tfm__qword TFM__PN(tfm__qword)
#define tfm__qzero TFM__PN(tfm__qzero)
#define tfm__round_clamp TFM__PN(tfm__round_clamp)
#define tfm__softmax_exp_sum TFM__PN(tfm__softmax_exp_sum)
#define tfm__vf TFM__PN(tfm__vf)
#define tfm__vf_add TFM__PN(tfm__vf_add)
#define tfm__vf_div TFM__PN(tfm__vf_div)
#define tfm__vf_erf TFM__PN(tfm__vf_erf)
#define tfm__vf_exp TFM__PN(tfm__vf_exp)
#define tfm__vf_fma TFM__PN(tfm__vf_fma)
#define tfm__vf_fma1 TFM__PN(tfm__vf_fma1)
#define tfm__vf_gelu_erf TFM__PN(tfm__vf_gelu_erf)
#define tfm__vf_gelu_tanh TFM__PN(tfm__vf_gelu_tanh)
#define tfm__vf_hmax TFM__PN(tfm__vf_hmax)
#define tfm__vf_load TFM__PN(tfm__vf_load)
#define tfm__vf_load_any TFM__PN(tfm__vf_load_any)
#define tfm__vf_load_bf16 TFM__PN(tfm__vf_load_bf16)
#define tfm__vf_load_f16 TFM__PN(tfm__vf_load_f16)
#define tfm__vf_load_i8 TFM__PN(tfm__vf_load_i8)
#define tfm__vf_load_i8_n TFM__PN(tfm__vf_load_i8_n)
#define tfm__vf_load_n TFM__PN(tfm__vf_load_n)
#define tfm__vf_max TFM__PN(tfm__vf_max)
#define tfm__vf_min TFM__PN(tfm__vf_min)
#define tfm__vf_mul TFM__PN(tfm__vf_mul)
#define tfm__vf_mul_pow2 TFM__PN(tfm__vf_mul_pow2)
#define tfm__vf_round TFM__PN(tfm__vf_round)
#define tfm__vf_set1 TFM__PN(tfm__vf_set1)
#define tfm__vf_silu TFM__PN(tfm__vf_silu)
#define tfm__vf_softcap TFM__PN(tfm__vf_softcap)
#define tfm__vf_store TFM__PN(tfm__vf_store)
#define tfm__vf_store_bf16 TFM__PN(tfm__vf_store_bf16)
#define tfm__vf_store_f16 TFM__PN(tfm__vf_store_f16)
#define tfm__vf_store_n TFM__PN(tfm__vf_store_n)
#define tfm__vf_sub TFM__PN(tfm__vf_sub)
#define tfm__vf_sum TFM__PN(tfm__vf_sum)
#define tfm__vf_sum4 TFM__PN(tfm__vf_sum4)
#define tfm__vf_tanh TFM__PN(tfm__vf_tanh)
#define tfm__vf_zero TFM__PN(tfm__vf_zero)
#define tfm__vi TFM__PN(tfm__vi)
#define tfm__vi_add TFM__PN(tfm__vi_add)
#define tfm__vi_and TFM__PN(tfm__vi_and)
#define tfm__vi_bcast4 TFM__PN(tfm__vi_bcast4)
#define tfm__vi_byte TFM__PN(tfm__vi_byte)
#define tfm__vi_bytes TFM__PN(tfm__vi_bytes)
#define tfm__vi_dot TFM__PN(tfm__vi_dot)
#define tfm__vi_dot16 TFM__PN(tfm__vi_dot16)
#define tfm__vi_dot_wide TFM__PN(tfm__vi_dot_wide)
#define tfm__vi_field TFM__PN(tfm__vi_field)
#define tfm__vi_float TFM__PN(tfm__vi_float)
#define tfm__vi_gather TFM__PN(tfm__vi_gather)
#define tfm__vi_half_f32 TFM__PN(tfm__vi_half_f32)
#define tfm__vi_load TFM__PN(tfm__vi_load)
#define tfm__vi_lookup TFM__PN(tfm__vi_lookup)
#define tfm__vi_mul TFM__PN(tfm__vi_mul)
#define tfm__vi_mul16 TFM__PN(tfm__vi_mul16)
#define tfm__vi_or TFM__PN(tfm__vi_or)
#define tfm__vi_pick TFM__PN(tfm__vi_pick)
#define tfm__vi_sbyte TFM__PN(tfm__vi_sbyte)
#define tfm__vi_select TFM__PN(tfm__vi_select)
#define tfm__vi_set1 TFM__PN(tfm__vi_set1)
#define tfm__vi_shl TFM__PN(tfm__vi_shl)
#define tfm__vi_shr TFM__PN(tfm__vi_shr)
#define tfm__vi_store TFM__PN(tfm__vi_store)
#define tfm__vi_sub TFM__PN(tfm__vi_sub)
#define tfm__vi_u16 TFM__PN(tfm__vi_u16)
#define tfm__vi_xor TFM__PN(tfm__vi_xor)
#define tfm__vi_zero TFM__PN(tfm__vi_zero)
#define tfm__x86_amax32 TFM__PN(tfm__x86_amax32)
#define tfm__x86_nearest32 TFM__PN(tfm__x86_nearest32)
#define tfm__x86_round32 TFM__PN(tfm__x86_round32)
#if defined(TFM__DISPATCH_DOTPROD)
/* the only aarch64 pass; gcc's pragma also defines __ARM_FEATURE_DOTPROD (and declares vdotq_s32),
   clang's does neither (tfm_quant_kernels.h then writes SDOT itself) */
#define TFM__HAS_DOTPROD 1
#define TFM__PASS_SUFFIX _dotprod
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#else
#undef TFM__SIMD_SCALAR
#define TFM__SIMD_AVX2 1
#undef TFM__VF_N
#define TFM__VF_N 8
#define TFM__PASS_SUFFIX _avx2
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif
#endif
#elif TFM__DISPATCH_PASS == 1 && !defined(TFM__DISPATCH_DOTPROD)
#undef TFM__DISPATCH_PASS /* ---------------- end AVX2, begin AVX-512 */
#define TFM__DISPATCH_PASS 2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef TFM__SIMD_AVX2
#undef TFM__PASS_SUFFIX
#define TFM__SIMD_AVX512 1
#define TFM__HAS_AVX512BW 1
#define TFM__HAS_AVX512VNNI 1
#undef TFM__VF_N
#define TFM__VF_N 16
#define TFM__PASS_SUFFIX _avx512
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#endif
#else
#undef TFM__DISPATCH_PASS /* ---------------- end AVX-512 (aarch64: NEON + dot product), back to the build's layer */
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef TFM__PASS_SUFFIX
#if defined(TFM__DISPATCH_DOTPROD)
#undef TFM__HAS_DOTPROD
#else
#undef TFM__SIMD_AVX512
#undef TFM__HAS_AVX512BW
#undef TFM__HAS_AVX512VNNI
#define TFM__SIMD_SCALAR 1
#undef TFM__VF_N
#define TFM__VF_N 1
#endif
#undef TFM__PN
#undef TFM__PN_PASTE
#undef TFM__PN_PASTE2
#undef tfm__attn_chunk
#undef tfm__attn_decode_chunk
#undef tfm__attn_decode_chunk_f32
#undef tfm__attn_decode_chunk_i8
#undef tfm__attn_decode_qk
#undef tfm__attn_decode_softmax
#undef tfm__attn_dequant
#undef tfm__attn_dqk
#undef tfm__attn_exp
#undef tfm__attn_ld
#undef tfm__attn_ld_n
#undef tfm__attn_pv
#undef tfm__attn_pv_1w
#undef tfm__attn_pv_4w
#undef tfm__attn_pv_narrow
#undef tfm__attn_pv_row
#undef tfm__attn_qk_micro
#undef tfm__attn_qk_row
#undef tfm__attn_qk_tile
#undef tfm__attn_softmax_step
#undef tfm__attn_tile_finish
#undef tfm__attn_tile_keys
#undef tfm__avx2_mask
#undef tfm__gemm_micro
#undef tfm__gemm_pack_block
#undef tfm__gemm_pack_w
#undef tfm__gemm_pack_x
#undef tfm__gemm_prefetch_step
#undef tfm__gf_move
#undef tfm__k_add
#undef tfm__k_axpy
#undef tfm__k_bf16_to_f32_row
#undef tfm__k_dot
#undef tfm__k_f16_to_f32_row
#undef tfm__k_f32_to_bf16_row
#undef tfm__k_f32_to_f16_row
#undef tfm__k_gelu_erf
#undef tfm__k_gelu_tanh
#undef tfm__k_gemm_columns
#undef tfm__k_gemm_small
#undef tfm__k_gemv_rows
#undef tfm__k_layernorm
#undef tfm__k_mul
#undef tfm__k_rmsnorm
#undef tfm__k_scale
#undef tfm__k_silu
#undef tfm__k_softcap
#undef tfm__k_softmax
#undef tfm__k_swiglu
#undef tfm__qbit4
#undef tfm__qdec_iq4_nl
#undef tfm__qdec_iq4_xs
#undef tfm__qdec_q2_K
#undef tfm__qdec_q3_K
#undef tfm__qdec_q4_0
#undef tfm__qdec_q4_K
#undef tfm__qdec_q5_0
#undef tfm__qdec_q5_K
#undef tfm__qdec_q6_K
#undef tfm__qdec_q8_0
#undef tfm__qdecode_body
#undef tfm__qdecoder
#undef tfm__qdot4
#undef tfm__qdotv
#undef tfm__qdot_body
#undef tfm__qdotm_body
#undef tfm__qgroup_sum
#undef tfm__qhalf_f32
#undef tfm__qhalf_u16
#undef tfm__qhalf_word
#undef tfm__qmm_body
#undef tfm__qnibbles
#undef tfm__qprefetch
#undef tfm__qprefetch_next
#undef tfm__qprefetch_share
#undef tfm__qscaled
#undef tfm__qscales_k4
#undef tfm__qsub
#undef tfm__qsub_init
#undef tfm__quantize_q8_0
#undef tfm__quantize_q8_1
#undef tfm__quantize_q8_block
#undef tfm__quantize_q8_K
#undef tfm__qword
#undef tfm__qzero
#undef tfm__round_clamp
#undef tfm__softmax_exp_sum
#undef tfm__vf
#undef tfm__vf_add
#undef tfm__vf_div
#undef tfm__vf_erf
#undef tfm__vf_exp
#undef tfm__vf_fma
#undef tfm__vf_fma1
#undef tfm__vf_gelu_erf
#undef tfm__vf_gelu_tanh
#undef tfm__vf_hmax
#undef tfm__vf_load
#undef tfm__vf_load_any
#undef tfm__vf_load_bf16
#undef tfm__vf_load_f16
#undef tfm__vf_load_i8
#undef tfm__vf_load_i8_n
#undef tfm__vf_load_n
#undef tfm__vf_max
#undef tfm__vf_min
#undef tfm__vf_mul
#undef tfm__vf_mul_pow2
#undef tfm__vf_round
#undef tfm__vf_set1
#undef tfm__vf_silu
#undef tfm__vf_softcap
#undef tfm__vf_store
#undef tfm__vf_store_bf16
#undef tfm__vf_store_f16
#undef tfm__vf_store_n
#undef tfm__vf_sub
#undef tfm__vf_sum
#undef tfm__vf_sum4
#undef tfm__vf_tanh
#undef tfm__vf_zero
#undef tfm__vi
#undef tfm__vi_add
#undef tfm__vi_and
#undef tfm__vi_bcast4
#undef tfm__vi_byte
#undef tfm__vi_bytes
#undef tfm__vi_dot
#undef tfm__vi_dot16
#undef tfm__vi_dot_wide
#undef tfm__vi_field
#undef tfm__vi_float
#undef tfm__vi_gather
#undef tfm__vi_half_f32
#undef tfm__vi_load
#undef tfm__vi_lookup
#undef tfm__vi_mul
#undef tfm__vi_mul16
#undef tfm__vi_or
#undef tfm__vi_pick
#undef tfm__vi_sbyte
#undef tfm__vi_select
#undef tfm__vi_set1
#undef tfm__vi_shl
#undef tfm__vi_shr
#undef tfm__vi_store
#undef tfm__vi_sub
#undef tfm__vi_u16
#undef tfm__vi_xor
#undef tfm__vi_zero
#undef tfm__x86_amax32
#undef tfm__x86_nearest32
#undef tfm__x86_round32
#endif
