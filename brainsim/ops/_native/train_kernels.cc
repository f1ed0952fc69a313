// Native CPU kernels of the training fast path (brainsim/ops/event_dense.py,
// brainsim/train/native_layer.py), through jax.ffi:
//
//   brainsim_event_matmul_{f32,f64}     y = x w            x (m, k) mostly zeros, w (k, n)
//   brainsim_event_matmul_t_{f32,f64}   d = x^T g          x (m, k) mostly zeros, g (m, n)
//   brainsim_lif_layer_forward_{f32,f64}   a recurrent LIF layer's T steps (below)
//   brainsim_lif_layer_backward_{f32,f64}  their reverse pass
//
// The event products touch only the nonzero entries of x: O(m k / 16) to find them (zero
// 64-byte blocks are skipped) plus O(nonzeros x n) multiply-adds, against O(m k n) for a dense
// product: with 5% of 700 inputs active, 20x fewer.
//
// The layer (brainsim.train.RecurrentSpikingLayer with LIF neurons behind an
// InstantaneousSynapse and a CUBA output, scalar parameters) in step t, per sequence b and
// neuron i, with drive d_t = x_t W_in precomputed and s_{-1} = 0:
//
//   I = d_t + s_{t-1} W_rec                          (the spikes' rows of W_rec: events)
//   free: v' = v E + ((g_L E_L + I) / C_m) phi,  r' = r      (E = e^{a dt}, phi = (E - 1) / a,
//   held: v' = v,                                r' = r - dt  a = -g_L / C_m; free: r <= 1e-4)
//   s = [v' - V_th > 0];  v = s ? V_r : v';  r = s ? t_ref : r'
//
// (exponential Euler with the input held over the step, the simulator's LIF step). It records
// s, v' and one byte of flags per neuron and step (free, spiked), from which the reverse pass
// reads s: the float spikes need not be kept for it. The reverse pass takes the cotangent of
// the spikes g_out, the surrogate derivative sigma = psi(v' - V_th) of every step (computed by
// the caller from v', so any surrogate works) and, with lambda = dL/dv after the reset (the reset is detached) and
// mu = dL/ds = g_out + g_{t+1} W_rec^T:
//
//   D = free ? E : 1,  P = free ? phi / C_m : 0   (dv'/dv and dv'/dI)
//   g_t = P ((1 - s) lambda + sigma mu),  lambda <- D ((1 - s) lambda + sigma mu)
//
// returning G = (g_t) (the cotangent of the drive; the caller forms x^T G) and
// dL/dW_rec = sum_t s_{t-1}^T g_t (events again). Sequences are independent, so each thread owns
// a contiguous slice of the batch for all T steps: no synchronisation between steps.
//
// Threads: the work is cut into `threads` slices (attribute; brainsim.ops._native.available_cpus())
// run by the calling thread and XLA's intra-op thread pool (Parallel). The event products split
// the m rows; x^T g sums one partial product per slice, so its rounding depends on the slice
// count (as a BLAS product's does). Built with -ffp-contract=fast (setup.py): on x86-64 the
// loops are cloned for AVX-512, AVX2 (both with FMA) and the baseline, and the loader picks one
// per CPU.

#include <algorithm>
#include <atomic>
#include <memory>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "dense_rows.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BRAINSIM_TRAIN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BRAINSIM_TRAIN_CLONES
#endif

namespace {

using brainsim_train::Compact;
using brainsim_train::DenseRows;
using brainsim_train::GatherRows;
using brainsim_train::ScatterRow;

// body(slice, lo, hi) for `slices` contiguous slices [lo, hi) of [0, n), run by this thread and
// by tasks on XLA's intra-op thread pool (the threads that run XLA's own operations, so the two
// never compete for the cores). Every worker takes the next untaken slice until none is left,
// so a task that the pool starts late finds nothing to do and returns at once, and the caller
// never waits for a task that has not started; it waits only for slices already taken.
template <typename F>
void Parallel(ffi::ThreadPool& pool, int64_t n, int64_t slices, F&& body) {
  slices = std::max<int64_t>(1, std::min(slices, n));
  struct Progress {
    std::atomic<int64_t> next{0}, done{0};
  };
  auto progress = std::make_shared<Progress>();
  auto work = [progress, &body, n, slices] {
    for (int64_t s = progress->next++; s < slices; s = progress->next++) {
      body(s, n * s / slices, n * (s + 1) / slices);
      ++progress->done;
    }
  };
  for (int64_t task = 1; task < slices; ++task) pool.Schedule([work] { work(); });
  work();
  while (progress->done.load() < slices) std::this_thread::yield();
}

// ---------------------------------------------------------------- event products

template <typename T>
struct MatmulArgs {
  const T* x;  // (m, k)
  const T* w;  // (k, n) for x w; g (m, n) for x^T g
  T* out;      // (m, n) for x w; (k, n) per thread for x^T g (slice 0: the result)
  T* partial;  // (threads - 1, k, n): the other threads' partial x^T g
  int64_t k, n;
};

// The nonzero entries of rows [lo, hi) of x (m, k), row by row: row m's are
// [start[m - lo], start[m - lo + 1]) of idx and val.
template <typename T>
struct RowEvents {
  std::vector<int64_t> start;
  std::vector<int32_t> idx;
  std::vector<T> val;

  RowEvents(const T* x, int64_t k, int64_t lo, int64_t hi) : start(1, 0) {
    for (int64_t m = lo; m < hi; ++m) {
      const int64_t at = start.back();
      idx.resize(at + k);
      val.resize(at + k);
      start.push_back(at + Compact(x + m * k, k, idx.data() + at, val.data() + at));
    }
  }
};

// Columns per panel: the products walk the output in panels of this many columns, every row
// for one panel before the next, so that the panel of the (k, n) operand (k x 256 bytes) stays
// in the core's cache while all rows use it.
template <typename T>
constexpr int64_t kPanel = 256 / sizeof(T);

template <typename T>
inline __attribute__((always_inline)) void MatmulWork(const MatmulArgs<T>& a, int64_t, int64_t lo,
                                                      int64_t hi) {
  const RowEvents<T> ev(a.x, a.k, lo, hi);
  for (int64_t c = 0; c < a.n; c += kPanel<T>) {
    const int64_t width = std::min(kPanel<T>, a.n - c);
    for (int64_t m = lo; m < hi; ++m) {
      const int64_t at = ev.start[m - lo], count = ev.start[m - lo + 1] - at;
      GatherRows<T, false>(a.out + m * a.n + c, a.w + c, a.n, width, ev.idx.data() + at,
                           ev.val.data() + at, count);
    }
  }
}

template <typename T>
inline __attribute__((always_inline)) void MatmulTWork(const MatmulArgs<T>& a, int64_t tid,
                                                       int64_t lo, int64_t hi) {
  T* acc = tid == 0 ? a.out : a.partial + (tid - 1) * a.k * a.n;
  std::memset(acc, 0, sizeof(T) * a.k * a.n);
  const RowEvents<T> ev(a.x, a.k, lo, hi);
  for (int64_t c = 0; c < a.n; c += kPanel<T>) {
    const int64_t width = std::min(kPanel<T>, a.n - c);
    for (int64_t m = lo; m < hi; ++m) {
      const int64_t at = ev.start[m - lo], count = ev.start[m - lo + 1] - at;
      ScatterRow<T>(acc + c, a.n, a.w + m * a.n + c, width, ev.idx.data() + at,
                    ev.val.data() + at, count);
    }
  }
}

// ---------------------------------------------------------------- the LIF layer

// The layer's constants, in the operand `params` (the caller computes E and phi with the
// simulator's exponential Euler coefficients).
enum Param { kDecay, kPhi, kGlEl, kCm, kVth, kVreset, kTref, kDt, kNumParams };

// The bits of a neuron's flags in a step: free (not refractory) at the step's start, spiked.
constexpr uint8_t kFree = 1, kSpiked = 2;

template <typename T>
struct LayerArgs {
  int64_t steps, batch, n;
  bool recurrent;
  const T* p;        // kNumParams
  const T* w;        // forward: W_rec (n, n); backward: W_rec^T (n, n)
  const T* drive;    // forward (T, B, n)
  const T* v0;       // forward (B, n)
  const T* ref0;     // forward (B, n)
  T* spikes;         // forward out (T, B, n)
  T* v_pre;          // forward out (T, B, n): v' before the reset
  uint8_t* flags;    // forward out / backward in (T, B, n): kFree | kSpiked
  const T* g_out;    // backward (T, B, n)
  const T* sigma;    // backward (T, B, n)
  T* g_drive;        // backward out (T, B, n)
  T* d_rec;          // backward out (n, n) (slice 0)
  T* partial;        // backward (threads - 1, n, n)
};

// One step of n neurons of one sequence (the update of the file comment), branch-free so
// that it vectorises: records v' (v_pre), the flags and the spike, and resets v and r.
template <typename T>
inline __attribute__((always_inline)) void NeuronUpdate(
    int64_t n, const T* __restrict drive, const T* __restrict rec, T* __restrict v,
    T* __restrict ref, const T* __restrict p, T* __restrict v_pre, uint8_t* __restrict flags,
    T* __restrict spikes) {
  const T decay = p[kDecay], phi = p[kPhi], gl_el = p[kGlEl], c_m = p[kCm], v_th = p[kVth],
          v_r = p[kVreset], t_ref = p[kTref], dt = p[kDt];
  for (int64_t i = 0; i < n; ++i) {
    const T current = drive[i] + rec[i];
    const bool free = ref[i] <= T(1e-4);
    const T integrated = v[i] * decay + ((gl_el + current) / c_m) * phi;
    const T v1 = free ? integrated : v[i];
    const T r1 = free ? ref[i] : ref[i] - dt;
    const bool fired = v1 - v_th > T(0);
    v_pre[i] = v1;
    flags[i] = static_cast<uint8_t>(free) | static_cast<uint8_t>(fired) << 1;
    spikes[i] = fired ? T(1) : T(0);
    v[i] = fired ? v_r : v1;
    ref[i] = fired ? t_ref : r1;
  }
}

template <typename T>
inline __attribute__((always_inline)) void ForwardWork(const LayerArgs<T>& a, int64_t, int64_t lo,
                                                       int64_t hi) {
  const int64_t n = a.n, rows = hi - lo;
  std::vector<T> v(a.v0 + lo * n, a.v0 + hi * n), ref(a.ref0 + lo * n, a.ref0 + hi * n);
  std::vector<T> rec(n, T(0)), val(n);
  std::vector<int32_t> idx(n);
  for (int64_t t = 0; t < a.steps; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t at = (t * a.batch + lo + r) * n;
      const T* d = a.drive + at;
      if (a.recurrent && t > 0) {
        const int64_t count = Compact(a.spikes + at - a.batch * n, n, idx.data(), val.data());
        GatherRows<T, false>(rec.data(), a.w, n, n, idx.data(), val.data(), count);
      }
      NeuronUpdate<T>(n, d, rec.data(), v.data() + r * n, ref.data() + r * n, a.p,
                      a.v_pre + at, a.flags + at, a.spikes + at);
    }
  }
}

// out = g w for `rows` rows of n (g and out row-major, w (n, n)): register blocks of 6 rows
// (12 accumulators of 2 vectors each keep the FMA units busy and fit AVX2's 16 registers),
// then blocks of 2 and 1 for the rest.
template <typename T>
inline __attribute__((always_inline)) void DenseProduct(T* __restrict out, const T* __restrict g,
                                                        const T* __restrict w, int64_t rows,
                                                        int64_t n) {
  int64_t r = 0;
  for (; r + 6 <= rows; r += 6) DenseRows<T, 6>(out + r * n, n, g + r * n, n, w, n, n, n);
  for (; r + 2 <= rows; r += 2) DenseRows<T, 2>(out + r * n, n, g + r * n, n, w, n, n, n);
  for (; r < rows; ++r) DenseRows<T, 1>(out + r * n, n, g + r * n, n, w, n, n, n);
}

// The reverse step of `size` neurons (the file comment's g_t and lambda), branch-free.
template <typename T>
inline __attribute__((always_inline)) void ReverseUpdate(
    int64_t size, const T* __restrict g_out, const uint8_t* __restrict flags,
    const T* __restrict sigma, const T* __restrict from_next, T* __restrict lam,
    T* __restrict g_drive, T decay, T gain) {
  for (int64_t e = 0; e < size; ++e) {
    const T mu = g_out[e] + from_next[e];
    const T kept = (flags[e] & kSpiked) ? T(0) : lam[e];  // (1 - s) lambda
    const T both = kept + sigma[e] * mu;
    const bool is_free = (flags[e] & kFree) != 0;
    g_drive[e] = is_free ? gain * both : T(0);
    lam[e] = is_free ? decay * both : both;
  }
}

template <typename T>
inline __attribute__((always_inline)) void BackwardWork(const LayerArgs<T>& a, int64_t tid,
                                                        int64_t lo, int64_t hi) {
  const int64_t n = a.n, rows = hi - lo;
  const T decay = a.p[kDecay], gain = a.p[kPhi] / a.p[kCm];
  T* d_rec = nullptr;
  if (a.recurrent) {
    d_rec = tid == 0 ? a.d_rec : a.partial + (tid - 1) * n * n;
    std::memset(d_rec, 0, sizeof(T) * n * n);
  }
  std::vector<T> lam(rows * n, T(0)), from_next(rows * n, T(0)), ones(n, T(1));
  std::vector<int32_t> idx(n);
  for (int64_t t = a.steps - 1; t >= 0; --t) {
    const int64_t base = (t * a.batch + lo) * n;
    ReverseUpdate<T>(rows * n, a.g_out + base, a.flags + base, a.sigma + base,
                     from_next.data(), lam.data(), a.g_drive + base, decay, gain);
    if (!a.recurrent) continue;
    const T* g = a.g_drive + base;
    if (t > 0) {  // mu of step t - 1 gets g_t W_rec^T
      DenseProduct(from_next.data(), g, a.w, rows, n);
      for (int64_t r = 0; r < rows; ++r) {  // dL/dW_rec += s_{t-1}^T g_t
        const uint8_t* previous = a.flags + base - a.batch * n + r * n;
        int64_t count = 0;
        for (int64_t i = 0; i < n; ++i) {
          idx[count] = static_cast<int32_t>(i);
          count += (previous[i] & kSpiked) != 0;
        }
        ScatterRow<T>(d_rec, n, g + r * n, n, idx.data(), ones.data(), count);
      }
    }
  }
}

// Each piece of work compiled per instruction set (target_clones), for float and double.
#define BRAINSIM_CLONED(WORK, ARGS)                                                            \
  BRAINSIM_TRAIN_CLONES void WORK##F32(const ARGS<float>& a, int64_t tid, int64_t lo,          \
                                       int64_t hi) {                                           \
    WORK<float>(a, tid, lo, hi);                                                               \
  }                                                                                            \
  BRAINSIM_TRAIN_CLONES void WORK##F64(const ARGS<double>& a, int64_t tid, int64_t lo,         \
                                       int64_t hi) {                                           \
    WORK<double>(a, tid, lo, hi);                                                              \
  }                                                                                            \
  template <typename T>                                                                        \
  void Run##WORK(const ARGS<T>& a, int64_t tid, int64_t lo, int64_t hi) {                      \
    if constexpr (std::is_same_v<T, float>) {                                                  \
      WORK##F32(a, tid, lo, hi);                                                               \
    } else {                                                                                   \
      WORK##F64(a, tid, lo, hi);                                                               \
    }                                                                                          \
  }

BRAINSIM_CLONED(MatmulWork, MatmulArgs)
BRAINSIM_CLONED(MatmulTWork, MatmulArgs)
BRAINSIM_CLONED(ForwardWork, LayerArgs)
BRAINSIM_CLONED(BackwardWork, LayerArgs)

// partial's slices added into out (n elements each).
template <typename T>
void AddPartials(T* out, const std::vector<T>& partial, int64_t n) {
  for (size_t at = 0; at < partial.size(); at += n) {
    for (int64_t e = 0; e < n; ++e) out[e] += partial[at + e];
  }
}

template <ffi::DataType DT>
ffi::Error EventMatmul(ffi::ThreadPool pool, ffi::Buffer<DT> x, ffi::Buffer<DT> w, ffi::ResultBuffer<DT> y,
                       int64_t threads) {
  using T = ffi::NativeType<DT>;
  auto xd = x.dimensions(), wd = w.dimensions();
  if (xd.size() != 2 || wd.size() != 2 || xd[1] != wd[0]) {
    return ffi::Error::InvalidArgument("event_matmul: x must be (m, k) and w (k, n).");
  }
  MatmulArgs<T> a{x.typed_data(), w.typed_data(), y->typed_data(), nullptr, xd[1], wd[1]};
  Parallel(pool, xd[0], threads, [&](int64_t tid, int64_t lo, int64_t hi) { RunMatmulWork(a, tid, lo, hi); });
  return ffi::Error::Success();
}

template <ffi::DataType DT>
ffi::Error EventMatmulT(ffi::ThreadPool pool, ffi::Buffer<DT> x, ffi::Buffer<DT> g, ffi::ResultBuffer<DT> d,
                        int64_t threads) {
  using T = ffi::NativeType<DT>;
  auto xd = x.dimensions(), gd = g.dimensions();
  if (xd.size() != 2 || gd.size() != 2 || xd[0] != gd[0]) {
    return ffi::Error::InvalidArgument("event_matmul_t: x must be (m, k) and g (m, n).");
  }
  const int64_t m = xd[0], k = xd[1], n = gd[1];
  threads = std::max<int64_t>(1, std::min(threads, m));
  std::vector<T> partial((threads - 1) * k * n);
  MatmulArgs<T> a{x.typed_data(), g.typed_data(), d->typed_data(), partial.data(), k, n};
  Parallel(pool, m, threads, [&](int64_t tid, int64_t lo, int64_t hi) { RunMatmulTWork(a, tid, lo, hi); });
  AddPartials(d->typed_data(), partial, k * n);
  return ffi::Error::Success();
}

template <ffi::DataType DT>
ffi::Error LifLayerForward(ffi::ThreadPool pool, ffi::Buffer<DT> params, ffi::Buffer<DT> drive, ffi::Buffer<DT> w_rec,
                           ffi::Buffer<DT> v0, ffi::Buffer<DT> ref0, ffi::ResultBuffer<DT> spikes,
                           ffi::ResultBuffer<DT> v_pre, ffi::ResultBuffer<ffi::U8> flags,
                           int64_t threads) {
  using T = ffi::NativeType<DT>;
  auto dd = drive.dimensions();
  if (dd.size() != 3 || params.element_count() != kNumParams) {
    return ffi::Error::InvalidArgument("lif_layer_forward: drive must be (T, batch, n) and params (8,).");
  }
  const int64_t steps = dd[0], batch = dd[1], n = dd[2];
  const bool recurrent = w_rec.element_count() != 0;
  if ((recurrent && w_rec.element_count() != n * n) || v0.element_count() != batch * n ||
      ref0.element_count() != batch * n) {
    return ffi::Error::InvalidArgument("lif_layer_forward: w_rec must be (n, n) or empty, v0 and ref0 (batch, n).");
  }
  LayerArgs<T> a{};
  a.steps = steps, a.batch = batch, a.n = n, a.recurrent = recurrent;
  a.p = params.typed_data(), a.w = w_rec.typed_data(), a.drive = drive.typed_data();
  a.v0 = v0.typed_data(), a.ref0 = ref0.typed_data();
  a.spikes = spikes->typed_data(), a.v_pre = v_pre->typed_data(), a.flags = flags->typed_data();
  Parallel(pool, batch, threads, [&](int64_t tid, int64_t lo, int64_t hi) { RunForwardWork(a, tid, lo, hi); });
  return ffi::Error::Success();
}

template <ffi::DataType DT>
ffi::Error LifLayerBackward(ffi::ThreadPool pool, ffi::Buffer<DT> params, ffi::Buffer<DT> w_rec_t,
                            ffi::Buffer<DT> g_out, ffi::Buffer<ffi::U8> flags,
                            ffi::Buffer<DT> sigma, ffi::ResultBuffer<DT> g_drive,
                            ffi::ResultBuffer<DT> d_rec, int64_t threads) {
  using T = ffi::NativeType<DT>;
  auto gd = g_out.dimensions();
  if (gd.size() != 3 || params.element_count() != kNumParams) {
    return ffi::Error::InvalidArgument("lif_layer_backward: g_out must be (T, batch, n) and params (8,).");
  }
  const int64_t steps = gd[0], batch = gd[1], n = gd[2], size = steps * batch * n;
  const bool recurrent = w_rec_t.element_count() != 0;
  if ((recurrent && (w_rec_t.element_count() != n * n || d_rec->element_count() != n * n)) ||
      flags.element_count() != size || sigma.element_count() != size) {
    return ffi::Error::InvalidArgument("lif_layer_backward: operands disagree in shape.");
  }
  threads = std::max<int64_t>(1, std::min(threads, batch));
  std::vector<T> partial(recurrent ? (threads - 1) * n * n : 0);
  LayerArgs<T> a{};
  a.steps = steps, a.batch = batch, a.n = n, a.recurrent = recurrent;
  a.p = params.typed_data(), a.w = w_rec_t.typed_data(), a.g_out = g_out.typed_data();
  a.flags = const_cast<uint8_t*>(flags.typed_data()), a.sigma = sigma.typed_data();
  a.g_drive = g_drive->typed_data(), a.d_rec = d_rec->typed_data(), a.partial = partial.data();
  Parallel(pool, batch, threads, [&](int64_t tid, int64_t lo, int64_t hi) { RunBackwardWork(a, tid, lo, hi); });
  if (recurrent) AddPartials(d_rec->typed_data(), partial, n * n);
  return ffi::Error::Success();
}

}  // namespace

#define BRAINSIM_MATMUL_HANDLER(NAME, FN, DT)                                           \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, FN<DT>,                                           \
                                ffi::Ffi::Bind()                                        \
                                    .Ctx<ffi::ThreadPool>()                   \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Ret<ffi::Buffer<DT>>()                             \
                                    .Attr<int64_t>("threads"));

#define BRAINSIM_FORWARD_HANDLER(NAME, DT)                                              \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, LifLayerForward<DT>,                              \
                                ffi::Ffi::Bind()                                        \
                                    .Ctx<ffi::ThreadPool>()                   \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Ret<ffi::Buffer<DT>>()                             \
                                    .Ret<ffi::Buffer<DT>>()                             \
                                    .Ret<ffi::Buffer<ffi::U8>>()                        \
                                    .Attr<int64_t>("threads"));

#define BRAINSIM_BACKWARD_HANDLER(NAME, DT)                                             \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, LifLayerBackward<DT>,                             \
                                ffi::Ffi::Bind()                                        \
                                    .Ctx<ffi::ThreadPool>()                   \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Arg<ffi::Buffer<ffi::U8>>()                        \
                                    .Arg<ffi::Buffer<DT>>()                             \
                                    .Ret<ffi::Buffer<DT>>()                             \
                                    .Ret<ffi::Buffer<DT>>()                             \
                                    .Attr<int64_t>("threads"));

BRAINSIM_MATMUL_HANDLER(BrainsimEventMatmulF32, EventMatmul, ffi::F32)
BRAINSIM_MATMUL_HANDLER(BrainsimEventMatmulF64, EventMatmul, ffi::F64)
BRAINSIM_MATMUL_HANDLER(BrainsimEventMatmulTF32, EventMatmulT, ffi::F32)
BRAINSIM_MATMUL_HANDLER(BrainsimEventMatmulTF64, EventMatmulT, ffi::F64)
BRAINSIM_FORWARD_HANDLER(BrainsimLifLayerForwardF32, ffi::F32)
BRAINSIM_FORWARD_HANDLER(BrainsimLifLayerForwardF64, ffi::F64)
BRAINSIM_BACKWARD_HANDLER(BrainsimLifLayerBackwardF32, ffi::F32)
BRAINSIM_BACKWARD_HANDLER(BrainsimLifLayerBackwardF64, ffi::F64)
