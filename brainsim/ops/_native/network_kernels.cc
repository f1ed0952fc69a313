// Fused network kernel for the XLA CPU backend (jax.ffi): a whole network of LIF populations
// with exponential synapses (CUBA or COBA outputs), advanced by K steps per call.
//
// It reproduces `brainsim.Network.step` for that model family, in the same order and with the
// same floating-point operations as the XLA-compiled generic step (so both engines give the same
// spikes). Per step t (state.step = t):
//   1. every projection p delivers the spikes its presynaptic population emitted at step
//      t - delay_p (read from the spike-history ring buffer, slot (t - delay_p) mod L_pre):
//      d_j = sum over active rows i, in row order, of s_i w_ij; then g_p <- g_p + d.
//   2. per population, I0 = sum_p (COBA: g_p E_p | CUBA: g_p) + I_const and G = sum_p g_p
//      (COBA only), in projection order.
//   3. LIF, exponential Euler over [t, t + dt): a neuron is free when its refractory countdown
//      is <= 1e-4 ms. Free: a = -(g_L + G) / C_m, b = (g_L E_L + I0) / C_m; refractory: a = b = 0
//      and the countdown decreases by dt.  x = a dt, e = exp(x),
//      phi = dt (1 + x/2 + x^2/6 + x^3/24) if |x| < 1e-2 else (e - 1) / a,  v <- v e + b phi.
//      Spike where v - V_th > 0: v <- V_r, countdown <- t_ref.
//   4. g_p <- g_p * decay_p (decay_p = exp(-dt / tau_p), computed by the caller exactly as the
//      generic step computes it).
//   5. the new spike vector (0.0 / 1.0) is written to history slot t mod L.
//
// XLA compiles the generic step for the host CPU and contracts a*b + c into a fused multiply-add
// where the CPU has one; its exp is a Cephes-style polynomial evaluated with FMAs
// (xla/backends/cpu/codegen/polynomial_approximations.cc), and x / C_m with a constant C_m
// becomes x * (1 / C_m). The kernel does the same. On x86-64 its per-neuron loops are built
// three times, portable (no FMA, like XLA on such a CPU), "avx2,fma" and AVX-512 (function
// target attributes), and the best one the CPU supports is chosen at load time
// (BRAINSIM_NATIVE_ISA=baseline|avx2 lowers the choice, for testing); on AArch64 FMA is always
// used. The library itself is built with portable flags (no -march=native, no -ffast-math: the
// NaN/Inf checks must not be folded away).
//
// Threads (attribute `threads`, chosen by brainsim.fused.thread_count): thread r owns a slice of
// every population, delivers to its own postsynaptic neurons only (walking every active row in
// row order, so each sum is formed as with one thread) and updates them; a barrier per step
// orders the spike-history and spike-list writes before the next step's reads (two when a
// delay equals the history length; one more with procedural projections, whose active rows are
// hashed once, a share per thread, before any is scattered; one per call after the spike lists
// are built). Results do not depend on the thread count.
//
// Cost per step: the neuron loop (which also does steps 1b-4 for a population with at most 4
// incoming projections, all with a scalar decay: no I0/G arrays) is vectorised and branch-free
// and writes one spike flag byte per neuron; the flags are compacted into a spike list (64 per
// test), and the history row is written sparsely from it (old spikes cleared, new ones set), so
// the N-long float history row is neither rewritten nor scanned each step; the active CSR/ELL
// rows are prefetched ahead of the scattered adds (event_rows.h).
//
// Operands (float32):
//   0 step (int32 scalar)        1 v (N)        2 refractory (N)
//   3 g (sum of projections' n_post)            4 history (sum over populations of L n)
//   5 neuron parameters (per population 7 x len, len = 1 or n: C_m or 1/C_m, g_L, g_L E_L,
//     V_th, V_r, t_ref, I_const)                 6 projection floats (per projection: E_rev,
//     then the decay factor(s), 1 or n_post of them)
//   7... connectivity per projection: CSR (indptr, indices, weights), ELL (targets, weights) or
//     procedural (key (2,) uint32, counts (n_pre,) or (1,) int32, weight (1,); rows regenerated
//     by procedural_rows.h, in slot order, as brainsim.ops.Procedural specifies).
// Results: v, refractory, g, history (aliased to operands 1-4), raster uint8 (K, N or 0),
// counts int32 (K, n_populations), finite uint8 (K, n_populations), overflow int32 (n_proj).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "xla/ffi/api/ffi.h"
#include "procedural_rows.h"
#include "event_rows.h"

namespace ffi = xla::ffi;

namespace {

constexpr int64_t kPopFields = 6;   // n, history length, parameter length, reciprocal C_m,
                                    // has constant current, first neuron offset
constexpr int64_t kProjFields = 9;  // pre, post, delay, kind (0 CSR, 1 ELL, 2 procedural), coba,
                                    // homogeneous,
                                    // decay length, max_active, same-scan-as (projection index)
constexpr int64_t kParams = 7;

struct Pop {
  int64_t n, hist_len, param_len, offset, hist_offset, param_offset;
  bool recip, has_current;
};

struct Proj {
  int64_t pre, post, delay, kind, decay_len, max_active, share, g_offset, f_offset;
  bool coba, homogeneous;
  const int32_t* indptr = nullptr;
  const int32_t* indices = nullptr;  // CSR indices or ELL targets (row-major, width k)
  const float* weights = nullptr;
  int64_t nnz = 0, k = 0;
  const uint32_t* key = nullptr;  // procedural: Threefry key words and row counts
  const int32_t* counts = nullptr;
  int64_t counts_len = 0;
  int64_t Count(int64_t i) const { return counts[counts_len == 1 ? 0 : i]; }  // row i's synapses
};

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

// XLA CPU's float exp (Cephes polynomial, Cody-Waite reduction), written branch-free so that
// the neuron loop vectorises. floor() by truncation and correction (no SSE4.1 needed).
template <bool kFma>
inline __attribute__((always_inline)) float ExpXla(float input) {
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

inline bool NonFinite(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof(b));
  return (b & 0x7f800000u) == 0x7f800000u;
}

// An incoming projection as the neuron loop sees it: its synapse state g, the delivered
// weights d (cleared once added), E_rev (1 for CUBA: fma(g, 1, I0) = I0 + g exactly), whether
// it adds to G, and its scalar decay factor.
struct InSyn {
  float* g;
  float* d;
  float e;
  float dec;
  bool coba;
};

// One population's neuron update, reset and spike bookkeeping. Parameters are scalars
// (kArrays = false) or one per neuron; kRecip: multiply by the stored 1/C_m (as XLA does for a
// constant C_m) instead of dividing by C_m. kIn in 0..4: the population's kIn incoming
// projections are updated inside this loop (g <- g + d, I0 and G in projection order, then
// g <- g decay); kIn = kArraysIn: I0 and G were assembled beforehand into i0 and gsum.
// No branches and no optional pointers in the loop, so it vectorises. It writes one spike flag
// (0/1) per neuron to `raster_row` (the raster, or scratch when the raster is not recorded);
// the caller compacts those into the spike list. Returns the spike count; `bad` is set when any
// state value is NaN/Inf after the reset.
constexpr int kArraysIn = 5;

template <bool kFma, bool kArrays, bool kRecip, int kIn>
inline __attribute__((always_inline)) int64_t UpdateLif(
    int64_t n, float* __restrict v, float* __restrict ref, const float* __restrict i0,
    const float* __restrict gsum, const InSyn* in_syn, const float* __restrict p, int64_t plen,
    float dt, uint8_t* __restrict raster_row, bool* bad_out) {
  const float* c_m = p;
  const float* g_l = p + plen;
  const float* gl_el = p + 2 * plen;
  const float* v_th = p + 3 * plen;
  const float* v_r = p + 4 * plen;
  const float* t_ref = p + 5 * plen;
  const float* i_c = p + 6 * plen;
  constexpr int kN = kIn == kArraysIn ? 1 : (kIn > 0 ? kIn : 1);
  float* gk[kN];
  float* dk[kN];
  float ek[kN], deck[kN];
  bool cobak[kN];
  for (int k = 0; k < kN; ++k) {
    const bool used = kIn != kArraysIn && k < kIn;
    gk[k] = used ? in_syn[k].g : nullptr;
    dk[k] = used ? in_syn[k].d : nullptr;
    ek[k] = used ? in_syn[k].e : 0.0f;
    deck[k] = used ? in_syn[k].dec : 0.0f;
    cobak[k] = used && in_syn[k].coba;
  }
  int32_t count = 0;
  uint32_t bad = 0;
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    const int64_t q = kArrays ? i : 0;
    const float vi = v[i];
    const float ri = ref[i];
    const bool free = ri <= 1e-4f;
    float in0, gs;
    if constexpr (kIn == kArraysIn) {
      in0 = i0[i];
      gs = gsum[i];
    } else {
      in0 = 0.0f;  // the generic step starts from zeros too: 0 + g E == fma(g, E, 0)
      gs = 0.0f;
#pragma GCC unroll 4
      for (int k = 0; k < kIn; ++k) {
        const float gj = gk[k][i] + dk[k][i];
        dk[k][i] = 0.0f;
        in0 = MulAdd<kFma>(gj, ek[k], in0);
        gs = gs + Select(cobak[k], gj, 0.0f);
        gk[k][i] = gj * deck[k];
      }
    }
    const float cur = in0 + i_c[q];  // + 0.0 without a current input: same value
    const float num_a = -(g_l[q] + gs);
    const float num_b = gl_el[q] + cur;
    const float a_v = kRecip ? num_a * c_m[q] : num_a / c_m[q];
    const float b_v = kRecip ? num_b * c_m[q] : num_b / c_m[q];
    const float a = Select(free, a_v, 0.0f);
    const float b = Select(free, b_v, 0.0f);
    const float x = a * dt;
    const float e = ExpXla<kFma>(x);
    const bool small = std::fabs(x) < 1e-2f;
    const float safe_a = Select(small, 1.0f, a);
    float s = MulAdd<kFma>(x, 1.0f / 24.0f, 1.0f / 6.0f);
    s = MulAdd<kFma>(x, s, 0.5f);
    s = MulAdd<kFma>(x, s, 1.0f);
    const float series = dt * s;
    const float phi = Select(small, series, (e - 1.0f) / safe_a);
    const float v1 = MulAdd<kFma>(vi, e, b * phi);
    const float r1 = Select(free, ri, ri - dt);
    const bool fired = (v1 - v_th[q]) > 0.0f;
    const float vn = Select(fired, v_r[q], v1);
    const float rn = Select(fired, t_ref[q], r1);
    v[i] = vn;
    ref[i] = rn;
    count += fired ? 1 : 0;
    raster_row[i] = fired ? 1 : 0;
    uint32_t vb, rb;
    std::memcpy(&vb, &vn, sizeof(vb));
    std::memcpy(&rb, &rn, sizeof(rb));
    bad |= ((vb & 0x7f800000u) == 0x7f800000u) | ((rb & 0x7f800000u) == 0x7f800000u);
  }
  *bad_out = bad != 0;
  return count;
}

// Synapse pass of one projection: g <- g + d (d cleared), its contribution to the
// postsynaptic input (COBA: I0 += g E, G += g; CUBA: I0 += g), then exact decay g <- g decay.
// kFirst: the first (COBA) contribution to this population's input writes I0 and G instead of
// adding to zeros (the same values, one pass less).
template <bool kFma, bool kCoba, bool kFirst>
inline __attribute__((always_inline)) void SynapsePass(int64_t n, float* __restrict gp,
                                                       float* __restrict d,
                                                       float* __restrict in0,
                                                       float* __restrict gs, float e_rev,
                                                       const float* __restrict dec,
                                                       bool scalar_decay) {
  const float dec0 = dec[0];
  for (int64_t j = 0; j < n; ++j) {
    const float gj = gp[j] + d[j];
    d[j] = 0.0f;
    if constexpr (kCoba && kFirst) {
      in0[j] = gj * e_rev;
      gs[j] = gj;
    } else if constexpr (kCoba) {
      in0[j] = MulAdd<kFma>(gj, e_rev, in0[j]);
      gs[j] = gs[j] + gj;
    } else {
      in0[j] = in0[j] + gj;
    }
    gp[j] = gj * (scalar_decay ? dec0 : dec[j]);
  }
}

using UpdateFn = int64_t (*)(int64_t, float*, float*, const float*, const float*, const InSyn*,
                             const float*, int64_t, float, uint8_t*, bool*);
using SynapseFn = void (*)(int64_t, float*, float*, float*, float*, float, const float*, bool);

struct Kernels {
  UpdateFn update[2][2][kArraysIn + 1];  // [per-neuron parameters][reciprocal C_m][kIn]
  SynapseFn coba, coba_first, cuba;
};

#define BRAINSIM_UPDATE(NAME, ATTR, FMA, ARRAYS, RECIP, IN)                                    \
  ATTR int64_t NAME(int64_t n, float* v, float* ref, const float* i0, const float* gs,         \
                    const InSyn* in, const float* p, int64_t plen, float dt, uint8_t* r,       \
                    bool* bad) {                                                               \
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

#define BRAINSIM_KERNELS(SUFFIX, ATTR, FMA)                                                   \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, false, false, SD)                                        \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, false, true, SR)                                         \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, true, false, AD)                                         \
  BRAINSIM_UPDATES(SUFFIX, ATTR, FMA, true, true, AR)                                          \
  ATTR void Coba##SUFFIX(int64_t n, float* gp, float* d, float* in0, float* gs, float e,      \
                         const float* dec, bool sd) {                                          \
    SynapsePass<FMA, true, false>(n, gp, d, in0, gs, e, dec, sd);                              \
  }                                                                                            \
  ATTR void CobaFirst##SUFFIX(int64_t n, float* gp, float* d, float* in0, float* gs, float e, \
                              const float* dec, bool sd) {                                     \
    SynapsePass<FMA, true, true>(n, gp, d, in0, gs, e, dec, sd);                               \
  }                                                                                            \
  ATTR void Cuba##SUFFIX(int64_t n, float* gp, float* d, float* in0, float* gs, float e,      \
                         const float* dec, bool sd) {                                          \
    SynapsePass<FMA, false, false>(n, gp, d, in0, gs, e, dec, sd);                                    \
  }                                                                                            \
  const Kernels kKernels##SUFFIX = {                                                           \
      {{BRAINSIM_TABLE(SD, SUFFIX), BRAINSIM_TABLE(SR, SUFFIX)},                               \
       {BRAINSIM_TABLE(AD, SUFFIX), BRAINSIM_TABLE(AR, SUFFIX)}},                              \
      Coba##SUFFIX,                                                                            \
      CobaFirst##SUFFIX,                                                                       \
      Cuba##SUFFIX};

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

// 0: portable (no FMA), 1: AVX2 + FMA, 2: AVX-512 + FMA. BRAINSIM_NATIVE_ISA=baseline|avx2
// lowers the choice (tests, benchmarks); it never goes above what the CPU supports.
int SelectIsa() {
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

const Kernels& PickKernels() {
  static const int isa = SelectIsa();
#ifdef BRAINSIM_HAVE_FMA_CLONE
  if (isa == 2) return kKernelsAvx512;
  if (isa == 1) return kKernelsFma;
#endif
  return kKernelsBase;
}

// A reusable barrier for the step loop's threads: spins briefly (a step lasts microseconds),
// then yields, so an oversubscribed machine still makes progress.
class SpinBarrier {
 public:
  explicit SpinBarrier(int64_t n) : n_(n) {}
  void Wait() {
    if (n_ == 1) return;
    const int64_t generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins) {
      if (spins > 4096) std::this_thread::yield();
    }
  }

 private:
  const int64_t n_;
  std::atomic<int64_t> arrived_{0};
  std::atomic<int64_t> generation_{0};
};

ffi::Error NetworkSteps(ffi::Buffer<ffi::S32> step_in, ffi::Buffer<ffi::F32> v_in,
                        ffi::Buffer<ffi::F32> ref_in, ffi::Buffer<ffi::F32> g_in,
                        ffi::Buffer<ffi::F32> hist_in, ffi::Buffer<ffi::F32> params,
                        ffi::Buffer<ffi::F32> proj_floats, ffi::RemainingArgs conn,
                        ffi::ResultBuffer<ffi::F32> v_out, ffi::ResultBuffer<ffi::F32> ref_out,
                        ffi::ResultBuffer<ffi::F32> g_out, ffi::ResultBuffer<ffi::F32> hist_out,
                        ffi::ResultBuffer<ffi::U8> raster, ffi::ResultBuffer<ffi::S32> counts,
                        ffi::ResultBuffer<ffi::U8> finite, ffi::ResultBuffer<ffi::S32> overflow,
                        ffi::Span<const int64_t> pop_meta, ffi::Span<const int64_t> proj_meta,
                        float dt, int64_t threads) {
  if (pop_meta.size() % kPopFields != 0 || proj_meta.size() % kProjFields != 0) {
    return ffi::Error::InvalidArgument("network_steps: malformed metadata.");
  }
  const int64_t n_pops = static_cast<int64_t>(pop_meta.size()) / kPopFields;
  const int64_t n_proj = static_cast<int64_t>(proj_meta.size()) / kProjFields;
  const int64_t n_total = static_cast<int64_t>(v_in.element_count());
  auto c_dims = counts->dimensions();
  if (c_dims.size() != 2 || c_dims[1] != n_pops) {
    return ffi::Error::InvalidArgument("network_steps: counts must have shape (K, populations).");
  }
  const int64_t n_steps = c_dims[0];
  auto r_dims = raster->dimensions();
  const bool record = r_dims.size() == 2 && r_dims[1] == n_total && n_total > 0;
  if (r_dims.size() != 2 || r_dims[0] != n_steps || (r_dims[1] != 0 && !record)) {
    return ffi::Error::InvalidArgument("network_steps: raster must have shape (K, N) or (K, 0).");
  }

  std::vector<Pop> pops(n_pops);
  int64_t hist_total = 0, param_total = 0, off = 0;
  for (int64_t q = 0; q < n_pops; ++q) {
    const int64_t* m = pop_meta.begin() + q * kPopFields;
    Pop& p = pops[q];
    p.n = m[0];
    p.hist_len = m[1];
    p.param_len = m[2];
    p.recip = m[3] != 0;
    p.has_current = m[4] != 0;
    p.offset = m[5];
    if (p.offset != off || p.n < 1 || p.hist_len < 0 || (p.param_len != 1 && p.param_len != p.n)) {
      return ffi::Error::InvalidArgument("network_steps: bad population metadata.");
    }
    off += p.n;
    p.hist_offset = hist_total;
    hist_total += p.hist_len * p.n;
    p.param_offset = param_total;
    param_total += kParams * p.param_len;
  }
  if (off != n_total || static_cast<int64_t>(ref_in.element_count()) != n_total ||
      static_cast<int64_t>(hist_in.element_count()) != hist_total ||
      static_cast<int64_t>(params.element_count()) != param_total) {
    return ffi::Error::InvalidArgument("network_steps: state sizes do not match the metadata.");
  }

  std::vector<Proj> projs(n_proj);
  int64_t g_total = 0, f_total = 0, arg = 0;
  for (int64_t k = 0; k < n_proj; ++k) {
    const int64_t* m = proj_meta.begin() + k * kProjFields;
    Proj& p = projs[k];
    p.pre = m[0];
    p.post = m[1];
    p.delay = m[2];
    p.kind = m[3];
    p.coba = m[4] != 0;
    p.homogeneous = m[5] != 0;
    p.decay_len = m[6];
    p.max_active = m[7];
    p.share = m[8];
    if (p.pre < 0 || p.pre >= n_pops || p.post < 0 || p.post >= n_pops || p.delay < 1 ||
        p.delay > pops[p.pre].hist_len || p.share < 0 || p.share > k ||
        (p.decay_len != 1 && p.decay_len != pops[p.post].n)) {
      return ffi::Error::InvalidArgument("network_steps: bad projection metadata.");
    }
    p.g_offset = g_total;
    g_total += pops[p.post].n;
    p.f_offset = f_total;
    f_total += 1 + p.decay_len;
    const int64_t n_pre = pops[p.pre].n;
    if (p.kind == 0) {
      auto ip = conn.get<ffi::Buffer<ffi::S32>>(arg++);
      auto ix = conn.get<ffi::Buffer<ffi::S32>>(arg++);
      auto w = conn.get<ffi::Buffer<ffi::F32>>(arg++);
      if (!ip || !ix || !w) return ffi::Error::InvalidArgument("network_steps: bad CSR operands.");
      p.nnz = static_cast<int64_t>(ix->element_count());
      if (static_cast<int64_t>(ip->element_count()) != n_pre + 1 ||
          static_cast<int64_t>(w->element_count()) != (p.homogeneous ? 1 : p.nnz)) {
        return ffi::Error::InvalidArgument("network_steps: CSR shapes do not match.");
      }
      p.indptr = ip->typed_data();
      p.indices = ix->typed_data();
      p.weights = w->typed_data();
      for (int64_t i = 0; i <= n_pre; ++i) {  // validated once per call, O(n_pre)
        if (p.indptr[i] < 0 || p.indptr[i] > p.nnz || (i > 0 && p.indptr[i] < p.indptr[i - 1])) {
          return ffi::Error::InvalidArgument("network_steps: `indptr` is not a row pointer.");
        }
      }
    } else if (p.kind == 1) {
      auto tg = conn.get<ffi::Buffer<ffi::S32>>(arg++);
      auto w = conn.get<ffi::Buffer<ffi::F32>>(arg++);
      if (!tg || !w) return ffi::Error::InvalidArgument("network_steps: bad ELL operands.");
      auto dims = tg->dimensions();
      if (dims.size() != 2 || dims[0] != n_pre ||
          static_cast<int64_t>(w->element_count()) != (p.homogeneous ? 1 : dims[0] * dims[1])) {
        return ffi::Error::InvalidArgument("network_steps: ELL shapes do not match.");
      }
      p.k = dims[1];
      p.indices = tg->typed_data();
      p.weights = w->typed_data();
    } else if (p.kind == 2) {
      auto key = conn.get<ffi::Buffer<ffi::U32>>(arg++);
      auto counts = conn.get<ffi::Buffer<ffi::S32>>(arg++);
      auto w = conn.get<ffi::Buffer<ffi::F32>>(arg++);
      if (!key || !counts || !w || !p.homogeneous) {
        return ffi::Error::InvalidArgument("network_steps: bad procedural operands.");
      }
      p.counts_len = static_cast<int64_t>(counts->element_count());
      if (key->element_count() != 2 || w->element_count() != 1 ||
          (p.counts_len != 1 && p.counts_len != n_pre)) {
        return ffi::Error::InvalidArgument("network_steps: procedural shapes do not match.");
      }
      p.key = key->typed_data();
      p.counts = counts->typed_data();
      p.weights = w->typed_data();
      for (int64_t i = 0; i < p.counts_len; ++i) {
        if (p.counts[i] < 0) return ffi::Error::InvalidArgument("network_steps: counts < 0.");
      }
    } else {
      return ffi::Error::InvalidArgument("network_steps: unknown connectivity kind.");
    }
  }
  if (static_cast<int64_t>(g_in.element_count()) != g_total ||
      static_cast<int64_t>(proj_floats.element_count()) != f_total ||
      static_cast<int64_t>(overflow->element_count()) != n_proj) {
    return ffi::Error::InvalidArgument("network_steps: synapse sizes do not match the metadata.");
  }

  float* v = v_out->typed_data();
  float* ref = ref_out->typed_data();
  float* g = g_out->typed_data();
  float* hist = hist_out->typed_data();
  // Aliased buffers share memory with the operands; copy only when XLA gave distinct ones.
  if (v != v_in.typed_data()) std::memcpy(v, v_in.typed_data(), sizeof(float) * n_total);
  if (ref != ref_in.typed_data()) std::memcpy(ref, ref_in.typed_data(), sizeof(float) * n_total);
  if (g != g_in.typed_data()) std::memcpy(g, g_in.typed_data(), sizeof(float) * g_total);
  if (hist != hist_in.typed_data()) {
    std::memcpy(hist, hist_in.typed_data(), sizeof(float) * hist_total);
  }
  const float* par = params.typed_data();
  const float* pf = proj_floats.typed_data();
  uint8_t* raster_all = raster->typed_data();
  int32_t* counts_all = counts->typed_data();
  uint8_t* finite_all = finite->typed_data();
  int32_t* overflow_all = overflow->typed_data();
  for (int64_t k = 0; k < n_proj; ++k) overflow_all[k] = 0;

  std::vector<float> delivered(g_total, 0.0f), i0(n_total), gsum(n_total);
  const Kernels& kern = PickKernels();
  // A population whose first incoming projection is COBA gets I0 and G written by it; the
  // others (CUBA first, or no input) are cleared at every step.
  std::vector<bool> first(n_proj, false), cleared_by_first(n_pops, true), seen_post(n_pops, false);
  for (int64_t k = 0; k < n_proj; ++k) {
    const int64_t q = projs[k].post;
    if (!seen_post[q]) {
      seen_post[q] = true;
      first[k] = projs[k].coba;
      cleared_by_first[q] = !projs[k].coba;
    }
  }
  // Populations with at most 4 incoming projections, all with a scalar decay, update their
  // synapses inside the neuron loop (no I0/G arrays); the others use the separate passes.
  std::vector<std::vector<InSyn>> in_syn(n_pops);
  std::vector<bool> inline_in(n_pops, true), inline_proj(n_proj, false);
  for (int64_t k = 0; k < n_proj; ++k) {
    const Proj& p = projs[k];
    if (p.decay_len != 1) inline_in[p.post] = false;
    const float e = p.coba ? pf[p.f_offset] : 1.0f;
    in_syn[p.post].push_back(
        {g + p.g_offset, delivered.data() + p.g_offset, e, pf[p.f_offset + 1], p.coba});
  }
  std::vector<UpdateFn> update(n_pops);
  for (int64_t q = 0; q < n_pops; ++q) {
    const int64_t n_in = static_cast<int64_t>(in_syn[q].size());
    if (n_in > 4) inline_in[q] = false;
    const int slot = inline_in[q] ? static_cast<int>(n_in) : kArraysIn;
    update[q] = kern.update[pops[q].param_len > 1 ? 1 : 0][pops[q].recip ? 1 : 0][slot];
  }
  for (int64_t k = 0; k < n_proj; ++k) inline_proj[k] = inline_in[projs[k].post];
  // Threads: thread `tid` owns the neurons [lo, hi) of every population (bounds on 16-neuron,
  // 64-byte boundaries). It delivers only to its own postsynaptic neurons (every thread walks
  // all active rows, in row order, so each neuron's sum is formed in the same order as with one
  // thread: the results do not depend on the thread count), updates them, and writes their
  // spike-history entries. One barrier per step separates the history writes of step t from
  // the reads of step t + 1.
  //
  // Spike lists: spike_lists[tid * n_pops + q][slot] holds, in order, the neurons of thread
  // tid's slice of population q whose entry in history slot `slot` is nonzero. They are built
  // once per call from the history; afterwards a step's active rows are the concatenation of
  // the threads' lists (no scan of the N-long history row), and a step writes only the history
  // entries that change (the slot's old spikes cleared, the new ones set) instead of the row.
  // Per step, threads read each other's lists (a few hundred indices) and the spike values of
  // the active rows, plus the hashed rows of procedural projections; nothing N-long.
  const int64_t n_threads = std::max<int64_t>(1, threads);
  std::vector<int64_t> bounds(static_cast<size_t>(n_pops * (n_threads + 1)));
  for (int64_t q = 0; q < n_pops; ++q) {
    for (int64_t r = 0; r <= n_threads; ++r) {
      const int64_t cut = (pops[q].n * r / n_threads) / 16 * 16;
      bounds[q * (n_threads + 1) + r] = r == n_threads ? pops[q].n : cut;
    }
  }
  std::vector<int32_t> thread_counts(static_cast<size_t>(n_threads * n_steps * n_pops), 0);
  std::vector<uint8_t> thread_bad(static_cast<size_t>(n_threads * n_steps * n_pops), 0);
  SpinBarrier barrier(n_threads);
  const int64_t t0 = step_in.typed_data()[0];
  auto history_slot = [&](const Proj& p, int64_t t) {
    const int64_t len = pops[p.pre].hist_len;
    const int64_t slot = (t - p.delay) % len;
    return slot < 0 ? slot + len : slot;
  };
  std::vector<std::vector<std::vector<int32_t>>> spike_lists(n_threads * n_pops);
  for (int64_t tid = 0; tid < n_threads; ++tid) {
    for (int64_t q = 0; q < n_pops; ++q) spike_lists[tid * n_pops + q].resize(pops[q].hist_len);
  }
  // Each thread hashes a share of a procedural projection's active rows into
  // hashed[thread][projection]; after a barrier every thread scatters them all, in row order.
  bool any_procedural = false;
  for (const Proj& p : projs) any_procedural |= p.kind == 2;
  std::vector<std::vector<std::vector<int32_t>>> hashed(
      n_threads, std::vector<std::vector<int32_t>>(n_proj));
  auto share_of = [n_threads](const std::vector<int32_t>& rows, int64_t th) {
    return static_cast<int64_t>(rows.size()) * th / n_threads;
  };
  bool reread_row = false;
  for (const Proj& p : projs) reread_row |= n_threads > 1 && p.delay == pops[p.pre].hist_len;

  auto worker = [&](int64_t tid) {
    std::vector<std::vector<int32_t>> active(n_proj);
    std::vector<std::vector<InSyn>> my_in(n_pops);
    auto lo_of = [&](int64_t q) { return bounds[q * (n_threads + 1) + tid]; };
    auto hi_of = [&](int64_t q) { return bounds[q * (n_threads + 1) + tid + 1]; };
    int64_t slice_max = 0;
    for (int64_t q = 0; q < n_pops; ++q) {
      for (InSyn syn : in_syn[q]) {  // this thread's slice of every incoming projection
        syn.g += lo_of(q);
        syn.d += lo_of(q);
        my_in[q].push_back(syn);
      }
      slice_max = std::max(slice_max, hi_of(q) - lo_of(q));
      for (int64_t slot = 0; slot < pops[q].hist_len; ++slot) {
        std::vector<int32_t>& list = spike_lists[tid * n_pops + q][slot];
        const int32_t lo = static_cast<int32_t>(lo_of(q));
        brainsim_events::ForEachActive(
            hist + pops[q].hist_offset + slot * pops[q].n + lo, hi_of(q) - lo,
            [&list, lo](int64_t i, float) { list.push_back(lo + static_cast<int32_t>(i)); });
      }
    }
    std::vector<uint8_t> flag_scratch(slice_max);  // spike flags when the raster is not recorded
    barrier.Wait();  // every thread's lists are built before any is read
    int64_t t = t0;
    for (int64_t s = 0; s < n_steps; ++s, ++t) {
      // 1. delivery of spikes emitted `delay` steps ago, to this thread's neurons.
      for (int64_t k = 0; k < n_proj; ++k) {
        const Proj& p = projs[k];
        if (p.share != k) continue;
        const int64_t slot = history_slot(p, t);
        active[k].clear();
        for (int64_t th = 0; th < n_threads; ++th) {
          const std::vector<int32_t>& part = spike_lists[th * n_pops + p.pre][slot];
          active[k].insert(active[k].end(), part.begin(), part.end());
        }
      }
      if (any_procedural) {  // this thread's share of the procedural rows, hashed once for all
        for (int64_t k = 0; k < n_proj; ++k) {
          const Proj& p = projs[k];
          if (p.kind != 2) continue;
          const std::vector<int32_t>& rows = active[p.share];
          std::vector<int32_t>& buf = hashed[tid][k];
          int64_t pos = 0;
          for (int64_t r = share_of(rows, tid); r < share_of(rows, tid + 1); ++r) {
            const int64_t count = p.Count(rows[r]);
            if (static_cast<int64_t>(buf.size()) < pos + count + 1) buf.resize(2 * (pos + count + 1));
            brainsim_procedural::RowTargets(p.key[0], p.key[1], static_cast<uint32_t>(rows[r]), count,
                                            static_cast<uint32_t>(pops[p.post].n), buf.data() + pos);
            pos += count;
          }
        }
        barrier.Wait();
      }
      for (int64_t k = 0; k < n_proj; ++k) {
        Proj& p = projs[k];
        const float* sp = hist + pops[p.pre].hist_offset + history_slot(p, t) * pops[p.pre].n;
        const std::vector<int32_t>& rows = active[p.share];
        if (tid == 0 && static_cast<int64_t>(rows.size()) > p.max_active) overflow_all[k] += 1;
        if (rows.empty()) continue;
        float* d = delivered.data() + p.g_offset;
        const uint32_t lo = static_cast<uint32_t>(lo_of(p.post));
        // This thread's targets: j in [lo, lo + width), one unsigned comparison (which also
        // drops padding >= n_post).
        const uint32_t width = static_cast<uint32_t>(hi_of(p.post)) - lo;
        if (p.kind == 0) {
          const int32_t* __restrict ip = p.indptr;
          for (int32_t i : rows) __builtin_prefetch(ip + i);
          brainsim_events::ScatterRows(
              rows, [ip](int32_t i) { return static_cast<int64_t>(ip[i]); },
              [ip](int32_t i) { return static_cast<int64_t>(ip[i + 1]) - ip[i]; }, p.indices,
              p.weights, p.homogeneous, sp, d, lo, width);
        } else if (p.kind == 1) {
          const int64_t row_width = p.k;
          brainsim_events::ScatterRows(
              rows, [row_width](int32_t i) { return i * row_width; },
              [row_width](int32_t) { return row_width; }, p.indices, p.weights, p.homogeneous, sp,
              d, lo, width);
        } else {  // procedural: every thread's hashed rows, in row order
          const float* w = p.weights;
          for (int64_t th = 0; th < n_threads; ++th) {
            const int32_t* targets = hashed[th][k].data();
            for (int64_t r = share_of(rows, th); r < share_of(rows, th + 1); ++r) {
              const int32_t i = rows[r];
              const int64_t count = p.Count(i);
              const float sw = sp[i] * w[0];
              for (int64_t c = 0; c < count; ++c) {
                const uint32_t j = static_cast<uint32_t>(targets[c]);
                if (j - lo < width) d[j] += sw;
              }
              targets += count;
            }
          }
        }
      }
      // A history row read above may be the one this step's neuron update overwrites (a delay
      // equal to the history length): every thread must have finished reading it.
      if (reread_row) barrier.Wait();
      // 2. + 4. synapse update, input assembly and exact decay, one pass per projection.
      for (int64_t q = 0; q < n_pops; ++q) {
        if (!cleared_by_first[q] || inline_in[q]) continue;
        const int64_t a = pops[q].offset + lo_of(q), b = pops[q].offset + hi_of(q);
        std::fill(i0.begin() + a, i0.begin() + b, 0.0f);
        std::fill(gsum.begin() + a, gsum.begin() + b, 0.0f);
      }
      for (int64_t k = 0; k < n_proj; ++k) {
        if (inline_proj[k]) continue;
        const Proj& p = projs[k];
        const Pop& post = pops[p.post];
        const int64_t lo = lo_of(p.post);
        const bool scalar_decay = p.decay_len == 1;
        const SynapseFn pass = !p.coba ? kern.cuba : first[k] ? kern.coba_first : kern.coba;
        pass(hi_of(p.post) - lo, g + p.g_offset + lo, delivered.data() + p.g_offset + lo,
             i0.data() + post.offset + lo, gsum.data() + post.offset + lo, pf[p.f_offset],
             pf + p.f_offset + 1 + (scalar_decay ? 0 : lo), scalar_decay);
      }
      // 3. + 5. neurons, spikes, history.
      uint8_t* raster_step = record ? raster_all + s * n_total : nullptr;
      for (int64_t q = 0; q < n_pops; ++q) {
        const Pop& p = pops[q];
        const int64_t lo = lo_of(q), width = hi_of(q) - lo;
        uint8_t* flags = raster_step ? raster_step + p.offset + lo : flag_scratch.data();
        const float* par_q = par + p.param_offset + (p.param_len > 1 ? lo : 0);
        bool bad = false;
        const int64_t c = update[q](width, v + p.offset + lo, ref + p.offset + lo,
                                    i0.data() + p.offset + lo, gsum.data() + p.offset + lo,
                                    my_in[q].data(), par_q, p.param_len, dt, flags, &bad);
        const size_t at = static_cast<size_t>((tid * n_steps + s) * n_pops + q);
        thread_counts[at] = static_cast<int32_t>(c);
        thread_bad[at] = bad ? 1 : 0;
        if (p.hist_len > 0) {  // history slot t: clear the spikes of step t - L, set this step's
          const int64_t slot = t % p.hist_len;
          float* row = hist + p.hist_offset + slot * p.n;
          std::vector<int32_t>& list = spike_lists[tid * n_pops + q][slot];
          for (int32_t i : list) row[i] = 0.0f;
          list.clear();
          if (c > 0) {
            brainsim_events::ForEachActive(flags, width, [&list, lo](int64_t i, uint8_t) {
              list.push_back(static_cast<int32_t>(lo + i));
            });
          }
          for (int32_t i : list) row[i] = 1.0f;
        }
      }
      barrier.Wait();
    }
  };
  std::vector<std::thread> helpers;
  for (int64_t tid = 1; tid < n_threads; ++tid) helpers.emplace_back(worker, tid);
  worker(0);
  for (std::thread& h : helpers) h.join();
  for (int64_t at = 0; at < n_steps * n_pops; ++at) {
    int32_t count = 0;
    uint8_t bad = 0;
    for (int64_t tid = 0; tid < n_threads; ++tid) {
      count += thread_counts[tid * n_steps * n_pops + at];
      bad |= thread_bad[tid * n_steps * n_pops + at];
    }
    counts_all[at] = count;
    finite_all[at] = bad ? 0 : 1;
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(BrainsimLifNetworkStepsF32, NetworkSteps,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::S32>>()  // step
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // refractory
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // history
                                  .Arg<ffi::Buffer<ffi::F32>>()  // neuron parameters
                                  .Arg<ffi::Buffer<ffi::F32>>()  // projection floats
                                  .RemainingArgs()               // connectivity
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v
                                  .Ret<ffi::Buffer<ffi::F32>>()  // refractory
                                  .Ret<ffi::Buffer<ffi::F32>>()  // g
                                  .Ret<ffi::Buffer<ffi::F32>>()  // history
                                  .Ret<ffi::Buffer<ffi::U8>>()   // raster (K, N or 0)
                                  .Ret<ffi::Buffer<ffi::S32>>()  // counts (K, populations)
                                  .Ret<ffi::Buffer<ffi::U8>>()   // finite (K, populations)
                                  .Ret<ffi::Buffer<ffi::S32>>()  // overflow (projections)
                                  .Attr<ffi::Span<const int64_t>>("pop_meta")
                                  .Attr<ffi::Span<const int64_t>>("proj_meta")
                                  .Attr<float>("dt")
                                  .Attr<int64_t>("threads"));
