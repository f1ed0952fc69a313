// Fused multi-step LIF network kernel (COBA/CUBA benchmark family) for the XLA CPU backend.
//
// One call advances a network of N LIF neurons with C exponential conductance channels
// (state g of shape (C, N), flat index c * N + j) by K steps of dt (ms). Per step:
//   1. neuron update, exponential Euler, for neurons whose refractory countdown is <= 1e-4 ms:
//        a = -(g_L + sum_c g_c) / C_m,   b = (g_L E_L + sum_c g_c E_c + I_b) / C_m,
//        e = exp(a dt),                  v <- v e + b (e - 1) / a;
//      refractory neurons keep v and count down: ref <- ref - dt.
//   2. spike if v > v_threshold (free neurons only): v <- v_reset, ref <- t_ref; raster[k, i] = 1.
//   3. synapses: g <- g * decay_c (decay_c = exp(-dt / tau_c), computed by the caller), then
//      every spike of this step adds its CSR row: g[indices[s]] += weights[s] (one-step delay:
//      the weights act from the next step's neuron update on).
// Scalar attributes are float32; state buffers (v, ref, g) are aliased in -> out by the caller.
// The order of every floating-point operation matches the pure-JAX step in
// brainsim/ops/native_lif.py so spikes agree with it. Portable flags, no fast-math.

#include <cstdint>
#include <cstring>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// exp(x) for float, Cephes-style range reduction + degree-5 polynomial (about 1 ulp), written
// so that GCC vectorises the neuron loop without -ffast-math (glibc's vector expf needs it).
// NaN propagates; inputs below -87.3 flush towards 0, above 88.7 saturate at ~FLT_MAX * 2.
inline float ExpF(float x) {
  x = x > 88.3762626647950f ? 88.3762626647950f : x;
  x = x < -87.3365447505531f ? -87.3365447505531f : x;
  float fx = x * 1.44269504088896341f + 0.5f;
  int32_t n = static_cast<int32_t>(fx);
  n = static_cast<float>(n) > fx ? n - 1 : n;  // floor
  const float fn = static_cast<float>(n);
  x = x - fn * 0.693359375f;
  x = x - fn * -2.12194440e-4f;
  const float z = x * x;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  const int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}

// Neuron update for all n neurons (branch-free, vectorisable). Writes raster flags to spk.
template <int kChannels>
void UpdateNeurons(int64_t n, int64_t n_channels, float* v, float* ref, const float* g,
                   const float* es, bool* spk, float dt, float c_m, float g_leak,
                   float g_leak_e_leak, float v_threshold, float v_reset, float t_ref,
                   float i_bias) {
  const int64_t channels = kChannels > 0 ? kChannels : n_channels;
  for (int64_t i = 0; i < n; ++i) {
    const float vi = v[i];
    const float ri = ref[i];
    const bool free = ri <= 1e-4f;
    float g_sum = g_leak;
    float drive = g_leak_e_leak;
#pragma GCC unroll 8
    for (int64_t c = 0; c < channels; ++c) {
      const float gc = g[c * n + i];
      g_sum = g_sum + gc;
      drive = drive + gc * es[c];
    }
    drive = drive + i_bias;
    const float a = -g_sum / c_m;
    const float b = drive / c_m;
    const float e = ExpF(a * dt);
    const float v_free = vi * e + b * (e - 1.0f) / a;
    const bool fired = free & (v_free > v_threshold);
    const float v_kept = free ? v_free : vi;
    const float r_kept = free ? ri : ri - dt;
    v[i] = fired ? v_reset : v_kept;
    ref[i] = fired ? t_ref : r_kept;
    spk[i] = static_cast<bool>(fired);
  }
}

ffi::Error LifNetworkSteps(ffi::Buffer<ffi::F32> v_in, ffi::Buffer<ffi::F32> ref_in,
                           ffi::Buffer<ffi::F32> g_in, ffi::Buffer<ffi::S32> indptr,
                           ffi::Buffer<ffi::S32> indices, ffi::Buffer<ffi::F32> weights,
                           ffi::Buffer<ffi::F32> decay, ffi::Buffer<ffi::F32> e_syn,
                           ffi::ResultBuffer<ffi::F32> v_out, ffi::ResultBuffer<ffi::F32> ref_out,
                           ffi::ResultBuffer<ffi::F32> g_out, ffi::ResultBuffer<ffi::PRED> raster,
                           float dt, float c_m, float g_leak, float e_leak, float v_threshold,
                           float v_reset, float t_ref, float i_bias) {
  const int64_t n = v_in.element_count();
  const int64_t n_channels = decay.element_count();
  if (ref_in.element_count() != static_cast<size_t>(n) ||
      g_in.element_count() != static_cast<size_t>(n * n_channels) ||
      e_syn.element_count() != static_cast<size_t>(n_channels) ||
      indptr.element_count() != static_cast<size_t>(n + 1) ||
      weights.element_count() != indices.element_count()) {
    return ffi::Error::InvalidArgument("lif_network_steps: inconsistent operand shapes.");
  }
  auto r_dims = raster->dimensions();
  if (r_dims.size() != 2 || r_dims[1] != n) {
    return ffi::Error::InvalidArgument("lif_network_steps: raster must have shape (K, N).");
  }
  const int64_t n_steps = r_dims[0];
  const int64_t nnz = indices.element_count();
  float* v = v_out->typed_data();
  float* ref = ref_out->typed_data();
  float* g = g_out->typed_data();
  // Aliased buffers share memory; copy only when XLA gave distinct ones.
  if (v != v_in.typed_data()) std::memcpy(v, v_in.typed_data(), sizeof(float) * n);
  if (ref != ref_in.typed_data()) std::memcpy(ref, ref_in.typed_data(), sizeof(float) * n);
  if (g != g_in.typed_data()) std::memcpy(g, g_in.typed_data(), sizeof(float) * n * n_channels);
  bool* out_spikes = raster->typed_data();
  const int32_t* ip = indptr.typed_data();
  const int32_t* ix = indices.typed_data();
  const float* w = weights.typed_data();
  const float* dec = decay.typed_data();
  const float* es = e_syn.typed_data();
  const float g_leak_e_leak = g_leak * e_leak;
  const uint64_t n_g = static_cast<uint64_t>(n * n_channels);
  std::vector<int32_t> fired;
  fired.reserve(256);

  for (int64_t step = 0; step < n_steps; ++step) {
    bool* spk = out_spikes + step * n;
    fired.clear();
    if (n_channels == 2) {
      UpdateNeurons<2>(n, n_channels, v, ref, g, es, spk, dt, c_m, g_leak, g_leak_e_leak,
                       v_threshold, v_reset, t_ref, i_bias);
    } else if (n_channels == 1) {
      UpdateNeurons<1>(n, n_channels, v, ref, g, es, spk, dt, c_m, g_leak, g_leak_e_leak,
                       v_threshold, v_reset, t_ref, i_bias);
    } else {
      UpdateNeurons<0>(n, n_channels, v, ref, g, es, spk, dt, c_m, g_leak, g_leak_e_leak,
                       v_threshold, v_reset, t_ref, i_bias);
    }
    // Active rows: skip 8 raster bytes at a time when none fired.
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t word;
      std::memcpy(&word, spk + i, sizeof(word));
      if (word == 0) continue;
      for (int64_t j = i; j < i + 8; ++j) {
        if (spk[j]) fired.push_back(static_cast<int32_t>(j));
      }
    }
    for (; i < n; ++i) {
      if (spk[i]) fired.push_back(static_cast<int32_t>(i));
    }
    for (int64_t c = 0; c < n_channels; ++c) {
      float* gc = g + c * n;
      const float d = dec[c];
      for (int64_t i = 0; i < n; ++i) gc[i] = gc[i] * d;
    }
    for (int32_t i : fired) {
      const int64_t start = ip[i], end = ip[i + 1];
      if (start < 0 || end < start || end > nnz) {
        return ffi::Error::InvalidArgument("lif_network_steps: invalid `indptr`.");
      }
      for (int64_t s = start; s < end; ++s) {
        const uint64_t j = static_cast<uint32_t>(ix[s]);
        if (j < n_g) g[j] += w[s];
      }
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(BrainsimLifNetworkStepsF32, LifNetworkSteps,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v (N,)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // refractory countdown (N,)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g (C, N)
                                  .Arg<ffi::Buffer<ffi::S32>>()  // indptr (N + 1,)
                                  .Arg<ffi::Buffer<ffi::S32>>()  // indices into g, (nnz,)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // weights (nnz,)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // decay per channel (C,)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // reversal potential (C,)
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v
                                  .Ret<ffi::Buffer<ffi::F32>>()  // refractory
                                  .Ret<ffi::Buffer<ffi::F32>>()  // g
                                  .Ret<ffi::Buffer<ffi::PRED>>() // raster (K, N)
                                  .Attr<float>("dt")
                                  .Attr<float>("c_m")
                                  .Attr<float>("g_leak")
                                  .Attr<float>("e_leak")
                                  .Attr<float>("v_threshold")
                                  .Attr<float>("v_reset")
                                  .Attr<float>("t_ref")
                                  .Attr<float>("i_bias"));
