// The per-neuron loops of lif_update.h, compiled once per instruction set, and the choice of
// one at load time. XLA compiles the generic step for the host CPU and contracts a*b + c into
// a fused multiply-add where the CPU has one, so the kernel must use FMA exactly when XLA does:
//
//   kKernelsBase    portable: no FMA on x86-64 (like XLA on a CPU without it); FMA on AArch64
//                   (every AArch64 CPU has it, and XLA uses it there)
//   kKernelsFma     x86-64 "avx2,fma" (function target attributes)
//   kKernelsAvx512  x86-64 AVX-512 (F, VL, BW, DQ) + FMA
//
// PickKernels() returns the best table the CPU supports; BRAINSIM_NATIVE_ISA=baseline|avx2
// lowers the choice (tests, benchmarks), never above what the CPU supports. The library itself
// is built with portable flags (setup.py: no -march=native, no -ffast-math, -ffp-contract=off).
#ifndef BRAINSIM_OPS_NATIVE_ISA_DISPATCH_H_
#define BRAINSIM_OPS_NATIVE_ISA_DISPATCH_H_

#include <cstdint>
#include <cstdlib>
#include <string>

#include "lif_update.h"

namespace brainsim_network {

using UpdateFn = int64_t (*)(int64_t, float*, float*, const float*, const float*, const InSyn*,
                             const float*, int64_t, float, uint8_t*, bool*);
using SynapseFn = void (*)(int64_t, float*, float*, float*, float*, float, const float*, bool);
// Elementwise probes of the copied XLA arithmetic (tests/test_fused_canary.py): out = Exp(x);
// out = ExponentialEuler(y, a, b, dt).
using ExpFn = void (*)(int64_t, const float*, float*);
using EulerFn = void (*)(int64_t, const float*, const float*, const float*, float, float*);

struct Kernels {
  UpdateFn update[2][2][kArraysIn + 1];  // [per-neuron parameters][reciprocal C_m][kIn]
  SynapseFn coba, coba_first, cuba;
  ExpFn exp;
  EulerFn exponential_euler;
  bool fma;
};

#define BRAINSIM_UPDATE(NAME, ATTR, FMA, ARRAYS, RECIP, IN)                                   \
  static ATTR int64_t NAME(int64_t n, float* v, float* ref, const float* i0, const float* gs, \
                           const InSyn* in, const float* p, int64_t plen, float dt,           \
                           uint8_t* r, bool* bad) {                                            \
    return UpdateLif<FMA, ARRAYS, RECIP, IN>(n, v, ref, i0, gs, in, p, plen, dt, r, bad);      \
  }

#define BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, ARRAYS, RECIP, TAG)                               \
  BRAINSIM_UPDATE(Update##TAG##0##SUFFIX, ATTR, FMA, ARRAYS, RECIP, 0)                        \
  BRAINSIM_UPDATE(Update##TAG##1##SUFFIX, ATTR, FMA, ARRAYS, RECIP, 1)                        \
  BRAINSIM_UPDATE(Update##TAG##2##SUFFIX, ATTR, FMA, ARRAYS, RECIP, 2)                        \
  BRAINSIM_UPDATE(Update##TAG##3##SUFFIX, ATTR, FMA, ARRAYS, RECIP, 3)                        \
  BRAINSIM_UPDATE(Update##TAG##4##SUFFIX, ATTR, FMA, ARRAYS, RECIP, 4)                        \
  BRAINSIM_UPDATE(Update##TAG##5##SUFFIX, ATTR, FMA, ARRAYS, RECIP, kArraysIn)

#define BRAINSIM_TABLE(TAG, SUFFIX)                                                            \
  {Update##TAG##0##SUFFIX, Update##TAG##1##SUFFIX, Update##TAG##2##SUFFIX,                    \
   Update##TAG##3##SUFFIX, Update##TAG##4##SUFFIX, Update##TAG##5##SUFFIX}

// One table: the LIF updates for scalar / per-neuron (S / A) parameters, divided by C_m or
// multiplied by 1/C_m (D / R), 0-4 inline projections or assembled arrays; the three synapse
// passes; the probes.
#define BRAINSIM_KERNELS(SUFFIX, ATTR, FMA)                                                   \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, false, false, SD)                                        \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, false, true, SR)                                         \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, true, false, AD)                                         \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, true, true, AR)                                          \
  static ATTR void Coba##SUFFIX(int64_t n, float* gp, float* d, float* in0, float* gs,        \
                                float e, const float* dec, bool sd) {                          \
    SynapsePass<FMA, true, false>(n, gp, d, in0, gs, e, dec, sd);                              \
  }                                                                                            \
  static ATTR void CobaFirst##SUFFIX(int64_t n, float* gp, float* d, float* in0, float* gs,   \
                                     float e, const float* dec, bool sd) {                     \
    SynapsePass<FMA, true, true>(n, gp, d, in0, gs, e, dec, sd);                               \
  }                                                                                            \
  static ATTR void Cuba##SUFFIX(int64_t n, float* gp, float* d, float* in0, float* gs,        \
                                float e, const float* dec, bool sd) {                          \
    SynapsePass<FMA, false, false>(n, gp, d, in0, gs, e, dec, sd);                             \
  }                                                                                            \
  static ATTR void Exp##SUFFIX(int64_t n, const float* x, float* out) {                       \
    for (int64_t i = 0; i < n; ++i) out[i] = brainsim_xla::Exp<FMA>(x[i]);                     \
  }                                                                                            \
  static ATTR void ExponentialEuler##SUFFIX(int64_t n, const float* y, const float* a,        \
                                            const float* b, float dt, float* out) {            \
    for (int64_t i = 0; i < n; ++i) out[i] = ExponentialEuler<FMA>(y[i], a[i], b[i], dt);      \
  }                                                                                            \
  const Kernels kKernels##SUFFIX = {                                                           \
      {{BRAINSIM_TABLE(SD, SUFFIX), BRAINSIM_TABLE(SR, SUFFIX)},                               \
       {BRAINSIM_TABLE(AD, SUFFIX), BRAINSIM_TABLE(AR, SUFFIX)}},                              \
      Coba##SUFFIX,                                                                            \
      CobaFirst##SUFFIX,                                                                       \
      Cuba##SUFFIX,                                                                            \
      Exp##SUFFIX,                                                                             \
      ExponentialEuler##SUFFIX,                                                                \
      FMA};

#if defined(__aarch64__)
constexpr bool kBaseFma = true;  // every AArch64 CPU has FMA, and XLA uses it there
#else
constexpr bool kBaseFma = false;
#endif
BRAINSIM_KERNELS(Base, , kBaseFma)
#if defined(__x86_64__) && defined(__GNUC__)
#define BRAINSIM_HAVE_FMA_CLONE 1
BRAINSIM_KERNELS(Fma, __attribute__((target("avx2,fma"))), true)
BRAINSIM_KERNELS(Avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))),
                 true)
#endif

// 0: portable (no FMA on x86-64), 1: AVX2 + FMA, 2: AVX-512 + FMA.
inline int SelectIsa() {
#ifdef BRAINSIM_HAVE_FMA_CLONE
  __builtin_cpu_init();
  int best = 0;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = 1;
  if (best == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) {
    best = 2;
  }
  const char* want = std::getenv("BRAINSIM_NATIVE_ISA");
  if (want != nullptr) {
    const std::string w(want);
    if (w == "baseline") return 0;
    if (w == "avx2") return best >= 1 ? 1 : best;
  }
  return best;
#else
  return 0;
#endif
}

// The instruction set chosen once, at the first call (SelectIsa's numbering).
inline int ChosenIsa() {
  static const int isa = SelectIsa();
  return isa;
}

inline const Kernels& PickKernels() {
#ifdef BRAINSIM_HAVE_FMA_CLONE
  const int isa = ChosenIsa();
  if (isa == 2) return kKernelsAvx512;
  if (isa == 1) return kKernelsFma;
#endif
  return kKernelsBase;
}

}  // namespace brainsim_network

#endif  // BRAINSIM_OPS_NATIVE_ISA_DISPATCH_H_
