// Fused network kernel for the XLA CPU backend (jax.ffi): a whole network of LIF populations
// with exponential synapses (CUBA or COBA outputs), advanced by K steps per call. This file is
// the FFI entry point: it checks the operands against the metadata, runs the step loop on the
// requested threads and reduces their results.
//
// It reproduces `brainsim.Network.step` for that model family, in the same order and with the
// same floating-point operations as the XLA-compiled generic step (so both engines give the same
// spikes). Per step t (state.step = t), network_step.h's phases:
//   1. ReadHistory, Deliver: every projection p delivers the spikes its presynaptic population
//      emitted at step t - delay_p (history slot (t - delay_p) mod L_pre):
//      d_j = sum over active rows i, in row order, of s_i w_ij; then g_p <- g_p + d.
//   2. AssembleInputs: per population, I0 = sum_p (COBA: g_p E_p | CUBA: g_p) + I_const and
//      G = sum_p g_p (COBA only), in projection order.
//   3. AdvanceNeurons: LIF, exponential Euler over [t, t + dt) (lif_update.h), spike where
//      v - V_th > 0: v <- V_r, countdown <- t_ref.
//   4. g_p <- g_p * decay_p (decay_p = exp(-dt / tau_p), computed by the caller exactly as the
//      generic step computes it), fused into step 2's pass (or into step 3's loop).
//   5. WriteHistory: the new spike vector (0.0 / 1.0) to history slot t mod L.
//   6. Plasticity: pair STDP on the plastic projections (pair_stdp.h), from the rows that
//      arrived in step 1 and the spikes of step 3, as brainsim.network.plasticity does.
//
// Where the two engines could differ in rounding, the kernel copies XLA: its float exp and its
// fused multiply-adds (xla_math.h; checked against the installed jax by
// tests/test_fused_canary.py), and x / C_m with a constant C_m as x * (1 / C_m). The per-neuron
// loops are built once per instruction set, the one matching XLA's FMA use chosen at load time
// (isa_dispatch.h).
//
// Threads (attribute `threads`, chosen by brainsim.fused.thread_count): thread r owns a slice of
// every population and delivers to and updates only its own neurons; barriers order the
// spike-history writes before the next step's reads (network_step.h). Results do not depend on
// the thread count.
//
// Cost per step: the neuron loop (which also does steps 1b-4 for a population with at most 4
// incoming projections, all with a scalar decay: no I0/G arrays) is vectorised and branch-free
// and writes one spike flag byte per neuron; the flags are compacted into a spike list (64 per
// test), and the history row is written sparsely from it (old spikes cleared, new ones set), so
// the N-long float history row is neither rewritten nor scanned each step; the active CSR/ELL
// rows are prefetched ahead of the scattered adds (event_rows.h).
//
// Operands (float32; layouts in network_metadata.h):
//   0 step (int32 scalar)        1 v (N)        2 refractory (N)
//   3 g (sum of projections' n_post)            4 history (sum over populations of L n)
//   5 neuron parameters (per population 7 x len, len = 1 or n: C_m or 1/C_m, g_L, g_L E_L,
//     V_th, V_r, t_ref, I_const)                 6 projection floats (per projection: E_rev,
//     then the decay factor(s), 1 or n_post of them)
//   7 plastic state (per plastic projection: weights, presynaptic and postsynaptic traces)
//   8 plastic floats (per plastic projection, pair_stdp.h's kPairFloats)
//   9... connectivity per projection: CSR (indptr, indices, weights), ELL (targets, weights) or
//     procedural (key (2,) uint32, counts (n_pre,) or (1,) int32, weight (1,)); a plastic
//     projection has no weights operand and adds its column index (colptr, slots).
// Attributes: pop_meta, proj_meta (network_metadata.h), dt (ms), threads.
// Results: v, refractory, g, history, plastic state (aliased to operands 1-4 and 7), raster
// uint8 (K, N or 0),
// counts int32 (K, n_populations), finite uint8 (K, n_populations), overflow int32 (n_proj).
//
// Also exported, for tests/test_fused_canary.py through ctypes (plain C, no FFI): the chosen
// instruction set and elementwise evaluations of the copied exp and exponential-Euler update.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "batch_view.h"
#include "isa_dispatch.h"
#include "network_metadata.h"
#include "network_step.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using brainsim_network::Batch;
using brainsim_network::ElementArgs;
using brainsim_network::Invalid;

// The element of every operand and result that one point (batch element b) uses.
struct PointBuffers {
  int32_t t0;
  const float *v_in, *ref_in, *g_in, *hist_in, *params, *proj_floats, *plastic_in, *plastic_f;
  float *v, *ref, *g, *hist, *plastic;
  uint8_t *raster, *finite;
  int32_t *counts, *overflow;
  int64_t n_total, g_count, hist_count, param_count, proj_float_count, plastic_count,
      plastic_float_count, raster_width, overflow_count;
};

// Point b's slices of the fixed operands and of the results, or why they do not fit.
ffi::Error SliceBuffers(const Batch& batch, int64_t b, ffi::Buffer<ffi::S32> step_in,
                        ffi::Buffer<ffi::F32> v_in, ffi::Buffer<ffi::F32> ref_in,
                        ffi::Buffer<ffi::F32> g_in, ffi::Buffer<ffi::F32> hist_in,
                        ffi::Buffer<ffi::F32> params, ffi::Buffer<ffi::F32> proj_floats,
                        ffi::Buffer<ffi::F32> plastic_in, ffi::Buffer<ffi::F32> plastic_floats,
                        ffi::ResultBuffer<ffi::F32>& v_out, ffi::ResultBuffer<ffi::F32>& ref_out,
                        ffi::ResultBuffer<ffi::F32>& g_out, ffi::ResultBuffer<ffi::F32>& hist_out,
                        ffi::ResultBuffer<ffi::F32>& plastic_out,
                        ffi::ResultBuffer<ffi::U8>& raster, ffi::ResultBuffer<ffi::S32>& counts,
                        ffi::ResultBuffer<ffi::U8>& finite, ffi::ResultBuffer<ffi::S32>& overflow,
                        PointBuffers* out) {
  using brainsim_network::ElementOf;
  auto in = [&](auto& buf) { return ElementOf(buf, buf.typed_data(), batch, b); };
  auto res = [&](auto& buf) { return ElementOf(*buf, buf->typed_data(), batch, b); };
  auto step = in(step_in);
  auto v = in(v_in), ref = in(ref_in), g = in(g_in), hist = in(hist_in), par = in(params);
  auto pf = in(proj_floats), pl = in(plastic_in), plf = in(plastic_floats);
  auto vo = res(v_out), ro = res(ref_out), go = res(g_out), ho = res(hist_out), po = res(plastic_out);
  auto ra = res(raster), fi = res(finite);
  auto co = res(counts), ov = res(overflow);
  for (bool ok : {step.ok, v.ok, ref.ok, g.ok, hist.ok, par.ok, pf.ok, pl.ok, plf.ok, vo.ok, ro.ok,
                  go.ok, ho.ok, po.ok, ra.ok, co.ok, fi.ok, ov.ok}) {
    if (!ok) return Invalid("a batched operand's leading axis is neither the batch nor 1.");
  }
  if (step.count != 1 || vo.count != v.count || ro.count != ref.count || go.count != g.count ||
      ho.count != hist.count || po.count != pl.count || co.dims.size() != 2 ||
      ra.dims.size() != 2 || fi.dims != co.dims) {
    return Invalid("results do not match the operands.");
  }
  *out = PointBuffers{step.data[0], v.data, ref.data, g.data, hist.data, par.data, pf.data,
                      pl.data, plf.data, vo.data, ro.data, go.data, ho.data, po.data, ra.data,
                      fi.data, co.data, ov.data, v.count, g.count, hist.count, par.count,
                      pf.count, pl.count, plf.count, ra.dims[1], ov.count};
  return ffi::Error::Success();
}

// One point's K steps, on `threads` threads (network_step.h).
ffi::Error RunPoint(const PointBuffers& p, const ElementArgs& conn, int64_t n_steps,
                    ffi::Span<const int64_t> pop_meta, ffi::Span<const int64_t> proj_meta,
                    float dt, int64_t threads) {
  const int64_t n_pops = static_cast<int64_t>(pop_meta.size()) / brainsim_network::kPopFields;
  const int64_t n_proj = static_cast<int64_t>(proj_meta.size()) / brainsim_network::kProjFields;
  const bool record = p.raster_width == p.n_total && p.n_total > 0;
  if (p.raster_width != 0 && !record) return Invalid("raster must have shape (K, N) or (K, 0).");
  brainsim_network::NetworkMetadata net;
  if (ffi::Error e = brainsim_network::ParsePopulations(pop_meta, &net); e.failure()) return e;
  if (net.n_total != p.n_total || p.hist_count != net.history_total ||
      p.param_count != net.param_total) {
    return Invalid("state sizes do not match the metadata.");
  }
  if (ffi::Error e = brainsim_network::ParseProjections(proj_meta, conn, p.plastic, p.plastic_f, &net);
      e.failure()) {
    return e;
  }
  if (p.g_count != net.g_total || p.proj_float_count != net.float_total ||
      p.plastic_count != net.plastic_total || p.plastic_float_count != net.plastic_float_total ||
      p.overflow_count != n_proj) {
    return Invalid("synapse sizes do not match the metadata.");
  }
  // Aliased buffers share memory with the operands; copy only when XLA gave distinct ones.
  auto copy = [](float* to, const float* from, int64_t n) {
    if (to != from) std::memcpy(to, from, sizeof(float) * n);
  };
  copy(p.v, p.v_in, p.n_total);
  copy(p.ref, p.ref_in, p.n_total);
  copy(p.g, p.g_in, net.g_total);
  copy(p.hist, p.hist_in, net.history_total);
  copy(p.plastic, p.plastic_in, net.plastic_total);
  for (int64_t k = 0; k < n_proj; ++k) p.overflow[k] = 0;

  brainsim_network::NetworkRun run(net, n_steps, threads, p.t0, dt, p.v, p.ref, p.g, p.hist,
                                   p.params, p.proj_floats, record ? p.raster : nullptr,
                                   p.overflow);
  auto work = [&run](int64_t tid) { brainsim_network::StepWorker(run, tid).Run(); };
  std::vector<std::thread> helpers;
  for (int64_t tid = 1; tid < run.n_threads; ++tid) helpers.emplace_back(work, tid);
  work(0);
  for (std::thread& h : helpers) h.join();

  // Per step and population: the threads' spike counts summed, their NaN/Inf flags joined.
  const int64_t per_thread = n_steps * n_pops;
  for (int64_t at = 0; at < per_thread; ++at) {
    int32_t count = 0;
    uint8_t bad = 0;
    for (int64_t tid = 0; tid < run.n_threads; ++tid) {
      count += run.thread_counts[tid * per_thread + at];
      bad |= run.thread_bad[tid * per_thread + at];
    }
    p.counts[at] = count;
    p.finite[at] = bad ? 0 : 1;
  }
  return ffi::Error::Success();
}

ffi::Error NetworkSteps(ffi::Buffer<ffi::S32> step_in, ffi::Buffer<ffi::F32> v_in,
                        ffi::Buffer<ffi::F32> ref_in, ffi::Buffer<ffi::F32> g_in,
                        ffi::Buffer<ffi::F32> hist_in, ffi::Buffer<ffi::F32> params,
                        ffi::Buffer<ffi::F32> proj_floats, ffi::Buffer<ffi::F32> plastic_in,
                        ffi::Buffer<ffi::F32> plastic_floats, ffi::RemainingArgs conn,
                        ffi::ResultBuffer<ffi::F32> v_out, ffi::ResultBuffer<ffi::F32> ref_out,
                        ffi::ResultBuffer<ffi::F32> g_out, ffi::ResultBuffer<ffi::F32> hist_out,
                        ffi::ResultBuffer<ffi::F32> plastic_out, ffi::ResultBuffer<ffi::U8> raster,
                        ffi::ResultBuffer<ffi::S32> counts, ffi::ResultBuffer<ffi::U8> finite,
                        ffi::ResultBuffer<ffi::S32> overflow, ffi::Span<const int64_t> pop_meta,
                        ffi::Span<const int64_t> proj_meta, float dt, int64_t threads,
                        int64_t batch_threads) {
  using brainsim_network::kPopFields;
  using brainsim_network::kProjFields;
  if (pop_meta.size() % kPopFields != 0 || proj_meta.size() % kProjFields != 0) {
    return Invalid("malformed metadata.");
  }
  const int64_t n_pops = static_cast<int64_t>(pop_meta.size()) / kPopFields;
  // A batched call: the step operand is (B,) or (1,) and the counts are (B, K, populations).
  Batch batch;
  auto c_dims = counts->dimensions();
  batch.on = step_in.dimensions().size() == 1;
  if (batch.on) batch.size = c_dims.size() == 3 ? c_dims[0] : -1;
  const int64_t n_steps_dim = batch.on ? 1 : 0;
  if (static_cast<int64_t>(c_dims.size()) != n_steps_dim + 2 || c_dims[n_steps_dim + 1] != n_pops ||
      batch.size < 1) {
    return Invalid("counts must have shape ([B,] K, populations).");
  }
  const int64_t n_steps = c_dims[n_steps_dim];
  std::vector<PointBuffers> points(batch.size);
  for (int64_t b = 0; b < batch.size; ++b) {
    ffi::Error e = SliceBuffers(batch, b, step_in, v_in, ref_in, g_in, hist_in, params, proj_floats,
                                plastic_in, plastic_floats, v_out, ref_out, g_out, hist_out,
                                plastic_out, raster, counts, finite, overflow, &points[b]);
    if (e.failure()) return e;
  }
  // Points run in parallel on `batch_threads` threads (each point on one), a single point on
  // `threads` threads.
  const int64_t workers = std::max<int64_t>(1, std::min(batch.size, batch_threads));
  std::vector<ffi::Error> errors(batch.size, ffi::Error::Success());
  auto work = [&](int64_t w) {
    for (int64_t b = w; b < batch.size; b += workers) {
      errors[b] = RunPoint(points[b], ElementArgs(conn, batch, b), n_steps, pop_meta, proj_meta,
                           dt, batch.size == 1 ? threads : 1);
    }
  };
  std::vector<std::thread> helpers;
  for (int64_t w = 1; w < workers; ++w) helpers.emplace_back(work, w);
  work(0);
  for (std::thread& h : helpers) h.join();
  for (ffi::Error& e : errors) {
    if (e.failure()) return e;
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
                                  .Arg<ffi::Buffer<ffi::F32>>()  // plastic state
                                  .Arg<ffi::Buffer<ffi::F32>>()  // plastic floats
                                  .RemainingArgs()               // connectivity
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v
                                  .Ret<ffi::Buffer<ffi::F32>>()  // refractory
                                  .Ret<ffi::Buffer<ffi::F32>>()  // g
                                  .Ret<ffi::Buffer<ffi::F32>>()  // history
                                  .Ret<ffi::Buffer<ffi::F32>>()  // plastic state
                                  .Ret<ffi::Buffer<ffi::U8>>()   // raster (K, N or 0)
                                  .Ret<ffi::Buffer<ffi::S32>>()  // counts (K, populations)
                                  .Ret<ffi::Buffer<ffi::U8>>()   // finite (K, populations)
                                  .Ret<ffi::Buffer<ffi::S32>>()  // overflow (projections)
                                  .Attr<ffi::Span<const int64_t>>("pop_meta")
                                  .Attr<ffi::Span<const int64_t>>("proj_meta")
                                  .Attr<float>("dt")
                                  .Attr<int64_t>("threads")
                                  .Attr<int64_t>("batch_threads"));

// Probes of the copied XLA arithmetic, with the instruction set the kernel uses
// (tests/test_fused_canary.py, through brainsim.ops._native).
extern "C" {

// 0: portable (no FMA on x86-64), 1: AVX2 + FMA, 2: AVX-512 + FMA.
int BrainsimNetworkIsa() { return brainsim_network::ChosenIsa(); }

// Whether the kernel's arithmetic uses fused multiply-adds.
int BrainsimNetworkFma() { return brainsim_network::PickKernels().fma ? 1 : 0; }

// out[i] = exp(x[i]) as the kernel computes it (xla_math.h).
void BrainsimXlaExpF32(const float* x, float* out, int64_t n) {
  brainsim_network::PickKernels().exp(n, x, out);
}

// out[i] = y[i] e^{a[i] dt} + b[i] (e^{a[i] dt} - 1) / a[i], the kernel's exponential-Euler
// update of v (lif_update.h).
void BrainsimExponentialEulerF32(const float* y, const float* a, const float* b, float dt,
                                 float* out, int64_t n) {
  brainsim_network::PickKernels().exponential_euler(n, y, a, b, dt, out);
}

}  // extern "C"
