#ifndef DATAENGINE_VECTOR_KERNELS_H
#define DATAENGINE_VECTOR_KERNELS_H

/// 1 when this CPU and OS run AVX2 (CPUID and XGETBV, checked once), else 0; always 0 off x86-64.
int dataengine_vector_avx2(void);

/// dst[i] = exp(src[i] - max(src)) for i < n (n > 0), returning the sum in double: the same operations, in the same
/// order and without fused multiply-adds, as Tensors' `exponentiateRow` in Swift, 8 lanes per AVX2 instruction
/// instead of two SSE ones, so the results are bit for bit the same. Only call it when dataengine_vector_avx2().
double dataengine_exponentiate_row_avx2(const float *src, float *dst, long n);

#endif
