// The per-neuron loops of the fused network kernel (network_kernels.cc): the LIF update with
// its spike reset, and the synapse pass of one projection. Both are templates on kFma (XLA's
// FMA choice, xla_math.h), instantiated once per instruction set by isa_dispatch.h.
//
// LIF, exponential Euler over [t, t + dt) (brainsim/dynamics/neurons/lif.py with
// brainsim/integrate/exponential_euler.py, as XLA compiles them): a neuron is free when its
// refractory countdown is <= 1e-4 ms. Free: a = -(g_L + G) / C_m, b = (g_L E_L + I0) / C_m;
// refractory: a = b = 0 and the countdown decreases by dt. Then v <- ExponentialEuler(v, a, b),
// and a spike where v - V_th > 0: v <- V_r, countdown <- t_ref.
//
// Synapses: g <- g + d (the delivered weights, d cleared), the postsynaptic input
// (COBA: I0 += g E_rev, G += g; CUBA: I0 += g), then the exact decay g <- g decay.
//
// The loops have no branches and no optional pointers, so they vectorise.
#ifndef BRAINSIM_OPS_NATIVE_LIF_UPDATE_H_
#define BRAINSIM_OPS_NATIVE_LIF_UPDATE_H_

#include <cmath>
#include <cstdint>

#include "xla_math.h"

namespace brainsim_network {

using brainsim_xla::MulAdd;
using brainsim_xla::NonFinite;
using brainsim_xla::Select;

// y e^{a dt} + b (e^{a dt} - 1) / a, with the Taylor series dt (1 + x/2 + x^2/6 + x^3/24),
// x = a dt, in place of (e^x - 1) / a where |x| < 1e-2: `exponential_euler_update` with XLA's
// exp and FMA contractions (the series as nested FMAs, y e + b phi as one FMA).
template <bool kFma>
inline __attribute__((always_inline)) float ExponentialEuler(float y, float a, float b,
                                                             float dt) {
  const float x = a * dt;
  const float e = brainsim_xla::Exp<kFma>(x);
  const bool small = std::fabs(x) < 1e-2f;
  const float safe_a = Select(small, 1.0f, a);
  float s = MulAdd<kFma>(x, 1.0f / 24.0f, 1.0f / 6.0f);
  s = MulAdd<kFma>(x, s, 0.5f);
  s = MulAdd<kFma>(x, s, 1.0f);
  const float series = dt * s;
  const float phi = Select(small, series, (e - 1.0f) / safe_a);
  return MulAdd<kFma>(y, e, b * phi);
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

// UpdateLif's kIn for a population whose input current I0 and conductance G were assembled
// beforehand (by SynapsePass) into arrays.
constexpr int kArraysIn = 5;
// The most incoming projections UpdateLif updates inside its own loop.
constexpr int kMaxInlineIn = 4;

// The neuron parameters of one population: kLifParams blocks of len floats (len = 1 for scalar
// parameters, or n): C_m (or 1/C_m), g_L, g_L E_L, V_th, V_r, t_ref, constant current (0 without
// one). (Named pointers into the blocks, not a struct of them: GCC vectorises UpdateLif
// slightly differently through a struct.)
constexpr int64_t kLifParams = 7;

// One population's neuron update, reset and spike bookkeeping. Parameters are scalars
// (kArrays = false) or one per neuron; kRecip: multiply by the stored 1/C_m (as XLA does for a
// constant C_m) instead of dividing by C_m. kIn in 0..kMaxInlineIn: the population's kIn
// incoming projections are updated inside this loop (g <- g + d, I0 and G in projection order,
// then g <- g decay); kIn = kArraysIn: I0 and G were assembled beforehand into i0 and gsum.
// It writes one spike flag (0/1) per neuron to `raster_row` (the raster, or scratch when the
// raster is not recorded); the caller compacts those into the spike list. Returns the spike
// count; `bad` is set when any state value is NaN/Inf after the reset.
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
    const float v1 = ExponentialEuler<kFma>(vi, a, b, dt);
    const float r1 = Select(free, ri, ri - dt);
    const bool fired = (v1 - v_th[q]) > 0.0f;
    const float vn = Select(fired, v_r[q], v1);
    const float rn = Select(fired, t_ref[q], r1);
    v[i] = vn;
    ref[i] = rn;
    count += fired ? 1 : 0;
    raster_row[i] = fired ? 1 : 0;
    bad |= static_cast<uint32_t>(NonFinite(vn)) | static_cast<uint32_t>(NonFinite(rn));
  }
  *bad_out = bad != 0;
  return count;
}

// Synapse pass of one projection over n postsynaptic neurons: g <- g + d (d cleared), its
// contribution to the postsynaptic input, then exact decay g <- g decay (scalar_decay:
// dec[0] for all). kFirst: the first (COBA) contribution to this population's input writes I0
// and G instead of adding to zeros (the same values, one pass less).
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

}  // namespace brainsim_network

#endif  // BRAINSIM_OPS_NATIVE_LIF_UPDATE_H_
