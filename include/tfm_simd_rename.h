/* tfm_simd_rename.h - internal: the names tfm_simd.h and tfm_quant_kernels.h define, renamed by
 * the instruction set of the pass (TFM__PN: tfm__vf_add becomes tfm__vf_add_avx2) so that each set's
 * copy of the one kernel source can live in one translation unit (see RUN-TIME DISPATCH in
 * tfm_tensor.h). Included twice: the first time renames, the second time undoes it. A name added to
 * either file and missing here is a redefinition error in a portable x86-64 build. */
#if !defined(TFM__SIMD_PASS)
typedef int tfm__simd_rename_h_alone; /* an ISO C translation unit must declare something */
#elif !defined(TFM__SIMD_RENAMED)
#define TFM__SIMD_RENAMED 1
#define tfm__avx2_mask TFM__PN(tfm__avx2_mask)
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
#define tfm__qscales_k4 TFM__PN(tfm__qscales_k4)
#define tfm__qsub TFM__PN(tfm__qsub)
#define tfm__qsub_init TFM__PN(tfm__qsub_init)
#define tfm__qword TFM__PN(tfm__qword)
#define tfm__qzero TFM__PN(tfm__qzero)
#define tfm__vf TFM__PN(tfm__vf)
#define tfm__vf_add TFM__PN(tfm__vf_add)
#define tfm__vf_div TFM__PN(tfm__vf_div)
#define tfm__vf_exp TFM__PN(tfm__vf_exp)
#define tfm__vf_fma TFM__PN(tfm__vf_fma)
#define tfm__vf_fma1 TFM__PN(tfm__vf_fma1)
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
#define tfm__vf_store TFM__PN(tfm__vf_store)
#define tfm__vf_store_bf16 TFM__PN(tfm__vf_store_bf16)
#define tfm__vf_store_f16 TFM__PN(tfm__vf_store_f16)
#define tfm__vf_store_n TFM__PN(tfm__vf_store_n)
#define tfm__vf_sub TFM__PN(tfm__vf_sub)
#define tfm__vf_sum TFM__PN(tfm__vf_sum)
#define tfm__vf_sum4 TFM__PN(tfm__vf_sum4)
#define tfm__vf_zero TFM__PN(tfm__vf_zero)
#define tfm__vi TFM__PN(tfm__vi)
#define tfm__vi_add TFM__PN(tfm__vi_add)
#define tfm__vi_and TFM__PN(tfm__vi_and)
#define tfm__vi_bcast4 TFM__PN(tfm__vi_bcast4)
#define tfm__vi_byte TFM__PN(tfm__vi_byte)
#define tfm__vi_bytes TFM__PN(tfm__vi_bytes)
#define tfm__vi_dot TFM__PN(tfm__vi_dot)
#define tfm__vi_dot_wide TFM__PN(tfm__vi_dot_wide)
#define tfm__vi_float TFM__PN(tfm__vi_float)
#define tfm__vi_gather TFM__PN(tfm__vi_gather)
#define tfm__vi_half_f32 TFM__PN(tfm__vi_half_f32)
#define tfm__vi_load TFM__PN(tfm__vi_load)
#define tfm__vi_lookup TFM__PN(tfm__vi_lookup)
#define tfm__vi_mul TFM__PN(tfm__vi_mul)
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
#else
#undef TFM__SIMD_RENAMED
#undef tfm__avx2_mask
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
#undef tfm__qscales_k4
#undef tfm__qsub
#undef tfm__qsub_init
#undef tfm__qword
#undef tfm__qzero
#undef tfm__vf
#undef tfm__vf_add
#undef tfm__vf_div
#undef tfm__vf_exp
#undef tfm__vf_fma
#undef tfm__vf_fma1
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
#undef tfm__vf_store
#undef tfm__vf_store_bf16
#undef tfm__vf_store_f16
#undef tfm__vf_store_n
#undef tfm__vf_sub
#undef tfm__vf_sum
#undef tfm__vf_sum4
#undef tfm__vf_zero
#undef tfm__vi
#undef tfm__vi_add
#undef tfm__vi_and
#undef tfm__vi_bcast4
#undef tfm__vi_byte
#undef tfm__vi_bytes
#undef tfm__vi_dot
#undef tfm__vi_dot_wide
#undef tfm__vi_float
#undef tfm__vi_gather
#undef tfm__vi_half_f32
#undef tfm__vi_load
#undef tfm__vi_lookup
#undef tfm__vi_mul
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
#endif
