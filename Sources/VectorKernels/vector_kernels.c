// The softmax's exponential at the machine's vector width (issue 17): Swift builds for baseline x86-64, where its
// 8-lane vectors take two SSE instructions each; this file compiles one function for AVX2 with a target attribute
// and the caller picks it at run time. It mirrors Tensors/Softmax.swift's `exponentiateRow` and
// Tensors/VectorMath.swift's `vexpNonPositive` operation for operation: no fused multiply-add (no FMA target, and
// contraction off), the same comparisons and selects, the same order of sums. Tests compare the two bit for bit.
#include "vector_kernels.h"

#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

static int detect_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;   // the OS saves the YMM registers
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX2) != 0;
}

int dataengine_vector_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = detect_avx2();
    return cached;
}

// a where !(a < b), else b: Swift's `a.replacing(with: b, where: a .< b)` (NaN and signed zeros included).
__attribute__((target("avx2"))) static inline __m256 vmax(__m256 a, __m256 b) {
    return _mm256_blendv_ps(a, b, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}

// Swift.max(x, y) for Float: y >= x ? y : x.
static inline float smax(float x, float y) { return y >= x ? y : x; }

__attribute__((target("avx2"))) static inline __m256 vexp_nonpositive(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33654f);
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 y = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.4426950408889634f)), magic);
    __m256i n = _mm256_sub_epi32(_mm256_castps_si256(y), _mm256_set1_epi32(0x4B400000));
    __m256 fx = _mm256_sub_ps(y, magic);
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(fx, _mm256_set1_ps(0.693359375f)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(fx, _mm256_set1_ps(-2.1219444e-4f)));
    __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_set1_ps(1.98756915e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, z), r), _mm256_set1_ps(1.0f));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
    __m256 e = _mm256_mul_ps(p, scale);
    return _mm256_blendv_ps(e, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
}

// Swift's laneSum: (SIMD4<Double>(low half) + SIMD4<Double>(high half)).sum(), summed in lane order from -0.
__attribute__((target("avx2"))) static inline double lane_sum(__m256 v) {
    float f[8];
    _mm256_storeu_ps(f, v);
    double s = -0.0;
    for (int k = 0; k < 4; k++) s += (double)f[k] + (double)f[k + 4];
    return s;
}

__attribute__((target("avx2"))) double dataengine_exponentiate_row_avx2(const float *src, float *dst, long n) {
    const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
    __m256 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    long i = 0;
    while (i + 32 <= n) {
        m0 = vmax(m0, _mm256_loadu_ps(src + i)); m1 = vmax(m1, _mm256_loadu_ps(src + i + 8));
        m2 = vmax(m2, _mm256_loadu_ps(src + i + 16)); m3 = vmax(m3, _mm256_loadu_ps(src + i + 24));
        i += 32;
    }
    while (i + 8 <= n) { m0 = vmax(m0, _mm256_loadu_ps(src + i)); i += 8; }
    __m256 m8 = vmax(vmax(m0, m1), vmax(m2, m3));
    __m128 low = _mm256_castps256_ps128(m8), high = _mm256_extractf128_ps(m8, 1);
    __m128 m4 = _mm_blendv_ps(low, high, _mm_cmp_ps(low, high, _CMP_LT_OQ));
    float l[4];
    _mm_storeu_ps(l, m4);
    float m = smax(smax(l[0], l[1]), smax(l[2], l[3]));
    while (i < n) { m = smax(m, src[i]); i += 1; }
    const __m256 vm = _mm256_set1_ps(m);
    double total = 0.0;
    __m256 acc = _mm256_setzero_ps();
    int run = 0;
    i = 0;
    while (i + 8 <= n) {
        __m256 e = vexp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(src + i), vm));
        _mm256_storeu_ps(dst + i, e);
        acc = _mm256_add_ps(acc, e);
        if (++run == 8) {
            total += lane_sum(acc);
            acc = _mm256_setzero_ps();
            run = 0;
        }
        i += 8;
    }
    if (i < n) {
        float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        long rest = n - i;
        for (long k = 0; k < rest; k++) part[k] = src[i + k];
        __m256 e = vexp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(part), vm));
        float out[8];
        _mm256_storeu_ps(out, e);
        for (long k = 0; k < rest; k++) dst[i + k] = out[k];
        for (long k = rest; k < 8; k++) out[k] = 0;
        acc = _mm256_add_ps(acc, _mm256_loadu_ps(out));
    }
    return total + lane_sum(acc);
}

#else

int dataengine_vector_avx2(void) { return 0; }

double dataengine_exponentiate_row_avx2(const float *src, float *dst, long n) {
    (void)src; (void)dst; (void)n;
    return 0;   // never called: dataengine_vector_avx2() is 0
}

#endif
