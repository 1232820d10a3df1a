// Block layouts of the quantized ggml types for CUDA kernels: the same structs as
// src/quant/blocks.rs (which follows ggml-common.h), with static_asserts on every size.
// Half-precision fields are `half` here (raw f16 bits in Rust); multi-byte fields are
// little-endian in memory. Keep this file and src/quant/blocks.rs in step.
#pragma once

#include <cuda_fp16.h>
#include <stdint.h>

#define FL_QK_K 256
#define FL_K_SCALE_SIZE 12
#define FL_QK1_0 128
#define FL_QK2_0 64
#define FL_QK4_0 32
#define FL_QK4_1 32
#define FL_QK5_0 32
#define FL_QK5_1 32
#define FL_QK8_0 32
#define FL_QK8_1 32
#define FL_QK_MXFP4 32
#define FL_QK_NVFP4 64
#define FL_QK_NVFP4_SUB 16
#define FL_QK4_NL 32

// 128 signs times one magnitude: bit ? d : -d
struct block_q1_0 { half d; uint8_t qs[FL_QK1_0 / 8]; };
// 2-bit values q - 1 (q in 0..3) times d
struct block_q2_0 { half d; uint8_t qs[FL_QK2_0 / 4]; };
// nibbles (q - 8) * d; low nibble of byte j = element j, high nibble = element j + 16
struct block_q4_0 { half d; uint8_t qs[FL_QK4_0 / 2]; };
// nibbles q * d + m
struct block_q4_1 { half d; half m; uint8_t qs[FL_QK4_1 / 2]; };
// E2M1 (doubled) indices with an E8M0 exponent
struct block_mxfp4 { uint8_t e; uint8_t qs[FL_QK_MXFP4 / 2]; };
// E2M1 (doubled) indices, one UE4M3 scale per 16 elements
struct block_nvfp4 { uint8_t d[FL_QK_NVFP4 / FL_QK_NVFP4_SUB]; uint8_t qs[FL_QK_NVFP4 / 2]; };
// 5-bit (q - 16) * d; bit j of qh is the fifth bit of element j
struct block_q5_0 { half d; uint8_t qh[4]; uint8_t qs[FL_QK5_0 / 2]; };
// 5-bit q * d + m
struct block_q5_1 { half d; half m; uint8_t qh[4]; uint8_t qs[FL_QK5_1 / 2]; };
// int8 q * d
struct block_q8_0 { half d; int8_t qs[FL_QK8_0]; };
// int8 q * d, s = d * sum(q)
struct block_q8_1 { half d; half s; int8_t qs[FL_QK8_1]; };
// ternary, 5 trits per byte then 4 per byte
struct block_tq1_0 { uint8_t qs[(FL_QK_K - 4 * FL_QK_K / 64) / 5]; uint8_t qh[FL_QK_K / 64]; half d; };
// ternary, 2 bits each
struct block_tq2_0 { uint8_t qs[FL_QK_K / 4]; half d; };
struct block_q2_K { uint8_t scales[FL_QK_K / 16]; uint8_t qs[FL_QK_K / 4]; half d; half dmin; };
struct block_q3_K { uint8_t hmask[FL_QK_K / 8]; uint8_t qs[FL_QK_K / 4]; uint8_t scales[12]; half d; };
struct block_q4_K { half d; half dmin; uint8_t scales[FL_K_SCALE_SIZE]; uint8_t qs[FL_QK_K / 2]; };
struct block_q5_K { half d; half dmin; uint8_t scales[FL_K_SCALE_SIZE]; uint8_t qh[FL_QK_K / 8]; uint8_t qs[FL_QK_K / 2]; };
struct block_q6_K { uint8_t ql[FL_QK_K / 2]; uint8_t qh[FL_QK_K / 4]; int8_t scales[FL_QK_K / 16]; half d; };
struct block_q8_K { float d; int8_t qs[FL_QK_K]; int16_t bsums[FL_QK_K / 16]; };
struct block_iq2_xxs { half d; uint16_t qs[FL_QK_K / 8]; };
struct block_iq2_xs { half d; uint16_t qs[FL_QK_K / 8]; uint8_t scales[FL_QK_K / 32]; };
struct block_iq2_s { half d; uint8_t qs[FL_QK_K / 4]; uint8_t qh[FL_QK_K / 32]; uint8_t scales[FL_QK_K / 32]; };
struct block_iq3_xxs { half d; uint8_t qs[3 * FL_QK_K / 8]; };
struct block_iq3_s { half d; uint8_t qs[FL_QK_K / 4]; uint8_t qh[FL_QK_K / 32]; uint8_t signs[FL_QK_K / 8]; uint8_t scales[FL_QK_K / 64]; };
struct block_iq1_s { half d; uint8_t qs[FL_QK_K / 8]; uint16_t qh[FL_QK_K / 32]; };
// the f16 super-block scale lives in the top nibbles of the four u16 scale words
struct block_iq1_m { uint8_t qs[FL_QK_K / 8]; uint8_t qh[FL_QK_K / 16]; uint8_t scales[FL_QK_K / 32]; };
struct block_iq4_nl { half d; uint8_t qs[FL_QK4_NL / 2]; };
struct block_iq4_xs { half d; uint16_t scales_h; uint8_t scales_l[FL_QK_K / 64]; uint8_t qs[FL_QK_K / 2]; };

// Sizes: must equal GgmlType::type_size() (src/quant/types.rs) and ggml's type_traits.
static_assert(sizeof(block_q1_0) == 18, "q1_0");
static_assert(sizeof(block_q2_0) == 18, "q2_0");
static_assert(sizeof(block_q4_0) == 18, "q4_0");
static_assert(sizeof(block_q4_1) == 20, "q4_1");
static_assert(sizeof(block_mxfp4) == 17, "mxfp4");
static_assert(sizeof(block_nvfp4) == 36, "nvfp4");
static_assert(sizeof(block_q5_0) == 22, "q5_0");
static_assert(sizeof(block_q5_1) == 24, "q5_1");
static_assert(sizeof(block_q8_0) == 34, "q8_0");
static_assert(sizeof(block_q8_1) == 36, "q8_1");
static_assert(sizeof(block_tq1_0) == 54, "tq1_0");
static_assert(sizeof(block_tq2_0) == 66, "tq2_0");
static_assert(sizeof(block_q2_K) == 84, "q2_K");
static_assert(sizeof(block_q3_K) == 110, "q3_K");
static_assert(sizeof(block_q4_K) == 144, "q4_K");
static_assert(sizeof(block_q5_K) == 176, "q5_K");
static_assert(sizeof(block_q6_K) == 210, "q6_K");
static_assert(sizeof(block_q8_K) == 292, "q8_K");
static_assert(sizeof(block_iq2_xxs) == 66, "iq2_xxs");
static_assert(sizeof(block_iq2_xs) == 74, "iq2_xs");
static_assert(sizeof(block_iq2_s) == 82, "iq2_s");
static_assert(sizeof(block_iq3_xxs) == 98, "iq3_xxs");
static_assert(sizeof(block_iq3_s) == 110, "iq3_s");
static_assert(sizeof(block_iq1_s) == 50, "iq1_s");
static_assert(sizeof(block_iq1_m) == 56, "iq1_m");
static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl");
static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs");
