// XLA CPU's float32 arithmetic, copied so that the fused network kernel (network_kernels.cc)
// computes what the XLA-compiled generic step computes, bit for bit:
//
//   MulAdd<kFma>(a, b, c)  a * b + c as XLA emits it: one fused multiply-add where the CPU has
//                          FMA (XLA contracts a*b + c there), two rounded operations otherwise.
//   Exp<kFma>(x)           XLA's float exp: the Cephes-style polynomial with Cody-Waite range
//                          reduction of xla/backends/cpu/codegen/polynomial_approximations.cc,
//                          evaluated with the same FMAs, written branch-free (bit-pattern
//                          selects, floor by truncation and correction: no SSE4.1 needed) so
//                          that loops calling it vectorise.
//   Select(c, a, b)        c ? a : b on bit patterns, which GCC keeps as data flow.
//
// These are copies, not specifications: a JAX/XLA release that changes its exp or its FMA
// contraction breaks the bit-identity of the fused and generic engines. tests/test_fused_canary.py
// compares them with jax's jit-compiled float32 exp and exponential-Euler update (through the
// ctypes entries at the end of network_kernels.cc) and says what changed. Even with jax 0.10.2
// the copy of Exp is exact only for |x| < ln(2)/2 (n = 0, which covers the LIF exponent a dt):
// beyond it 0.2% of inputs are 1 ulp (near overflow up to 5 ulp) from XLA's, and XLA flushes
// subnormal results to zero; the canary's docstring has the figures.
#ifndef BRAINSIM_OPS_NATIVE_XLA_MATH_H_
#define BRAINSIM_OPS_NATIVE_XLA_MATH_H_

#include <cstdint>
#include <cstring>

namespace brainsim_xla {

template <bool kFma>
inline __attribute__((always_inline)) float MulAdd(float a, float b, float c) {
  if constexpr (kFma) {
    return __builtin_fmaf(a, b, c);
  } else {
    return a * b + c;
  }
}

// Branch-free select on bit patterns: GCC keeps it as data flow, so it neither sinks the
// operands' loads into a branch nor jump-threads the loop (either would stop vectorisation).
inline __attribute__((always_inline)) float Select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  uint32_t ai, bi;
  std::memcpy(&ai, &a, sizeof(ai));
  std::memcpy(&bi, &b, sizeof(bi));
  const uint32_t r = (ai & m) | (bi & ~m);
  float out;
  std::memcpy(&out, &r, sizeof(out));
  return out;
}

// XLA CPU's float exp: clamp to [-87.8, 88.8], n = floor(x log2(e) + 1/2) (clamped to
// [-127, 128]), r = x - n ln(2) in two steps (Cody-Waite), a degree-7 polynomial in r, then
// 2^n applied in two factors (so n = 128 does not overflow the exponent field early).
template <bool kFma>
inline __attribute__((always_inline)) float Exp(float input) {
  float x = Select(input < -87.8f, -87.8f, input);
  x = Select(x > 88.8f, 88.8f, x);
  const float t = MulAdd<kFma>(x, 1.44269504088896341f, 0.5f);
  int32_t ti = static_cast<int32_t>(t);  // t is within +-128.6 here (or NaN, see below)
  float n = static_cast<float>(ti);
  n = Select(n > t, n - 1.0f, n);
  n = Select(n < -127.0f, -127.0f, n);
  n = Select(n > 128.0f, 128.0f, n);
  float r = MulAdd<kFma>(-0.693145751953125f, n, x);
  r = MulAdd<kFma>(-1.4286067653301877e-6f, n, r);
  float z = MulAdd<kFma>(r, 1.9875691500e-4f, 1.3981999507e-3f);
  z = MulAdd<kFma>(z, r, 8.3334519073e-3f);
  z = MulAdd<kFma>(z, r, 4.1665795894e-2f);
  z = MulAdd<kFma>(z, r, 1.6666665459e-1f);
  z = MulAdd<kFma>(z, r, 5.0000001201e-1f);
  z = MulAdd<kFma>(z, r * r, r);
  z = 1.0f + z;
  const int32_t ni = static_cast<int32_t>(n);
  const uint32_t biased = static_cast<uint32_t>(ni + 127) << 23;
  const uint32_t pow2_bits = biased < 0x7f000000u ? biased : 0x7f000000u;
  const uint32_t rem = biased - pow2_bits;
  uint32_t zb;
  std::memcpy(&zb, &z, sizeof(zb));
  zb += rem;
  float zs, pow2;
  std::memcpy(&zs, &zb, sizeof(zs));
  std::memcpy(&pow2, &pow2_bits, sizeof(pow2));
  return zs * pow2;
}

// Whether the exponent field is all ones (Inf or NaN).
inline __attribute__((always_inline)) bool NonFinite(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof(b));
  return (b & 0x7f800000u) == 0x7f800000u;
}

}  // namespace brainsim_xla

#endif  // BRAINSIM_OPS_NATIVE_XLA_MATH_H_
