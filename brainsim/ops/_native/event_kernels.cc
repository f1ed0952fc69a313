// Event-driven sparse propagation kernels for the XLA CPU backend (jax.ffi).
//
//   y_j = sum_i s_i w_ij   over presynaptic rows i with s_i != 0,
//
// for two connectivity formats:
//   CSR by presynaptic neuron: indptr (n_pre + 1,), indices (nnz,), weights (nnz,) or () .
//   ELL (fixed out-degree k):  targets (n_pre, k), weights (n_pre, k) or (); a target equal to
//                              n_post (or any target outside [0, n_post)) means "no synapse".
//
// Cost: O(n_pre / 16) to find the active rows (the spike vector is read in 64-byte blocks and a
// block that is all zero bits is skipped) plus O(active rows x fan-out) scattered adds.
// The output is zero-initialised here; nothing is aliased.
//
// Batching (jax.ffi.ffi_call(..., vmap_method="expand_dims")): every operand gets the same number
// of leading batch dimensions as the output; a batch dimension of size 1 is broadcast, so the
// connectivity is shared (read once per batch element, never copied) while the spikes differ.
// The weights' rank tells the kernel whether they are homogeneous (rank 0 after the batch dims).
//
// Built with portable flags (-O3 -std=c++17 -fPIC); no -ffast-math, so NaN/Inf propagate exactly
// as they do in the pure-JAX reference for the synapses that are touched.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// Offsets (in elements) of one operand for every flat batch index of the output.
// `base_rank` trailing dimensions belong to the operand itself; the leading ones must line up
// with the output's batch dimensions and be either 1 (broadcast) or equal to the output's size.
bool BatchOffsets(ffi::Span<const int64_t> dims, int64_t base_rank,
                  ffi::Span<const int64_t> out_batch, std::vector<int64_t>& offsets,
                  std::string& error, const char* name) {
  const int64_t batch_rank = static_cast<int64_t>(out_batch.size());
  if (static_cast<int64_t>(dims.size()) != batch_rank + base_rank) {
    error = std::string("`") + name + "` has rank " + std::to_string(dims.size()) +
            "; expected " + std::to_string(batch_rank + base_rank) + ".";
    return false;
  }
  int64_t base_size = 1;
  for (int64_t d = batch_rank; d < batch_rank + base_rank; ++d) base_size *= dims[d];
  std::vector<int64_t> strides(batch_rank, 0);
  int64_t stride = base_size;
  for (int64_t d = batch_rank - 1; d >= 0; --d) {
    if (dims[d] == out_batch[d]) {
      strides[d] = out_batch[d] == 1 ? 0 : stride;
    } else if (dims[d] == 1) {
      strides[d] = 0;
    } else {
      error = std::string("`") + name + "` batch dimension " + std::to_string(d) + " is " +
              std::to_string(dims[d]) + "; expected 1 or " + std::to_string(out_batch[d]) + ".";
      return false;
    }
    stride *= dims[d];
  }
  int64_t n_batch = 1;
  for (int64_t d = 0; d < batch_rank; ++d) n_batch *= out_batch[d];
  offsets.assign(n_batch, 0);
  for (int64_t b = 0; b < n_batch; ++b) {
    int64_t rem = b, off = 0;
    for (int64_t d = batch_rank - 1; d >= 0; --d) {
      off += (rem % out_batch[d]) * strides[d];
      rem /= out_batch[d];
    }
    offsets[b] = off;
  }
  return true;
}

// Calls f(i, s_i) for every i with s_i != 0 (so -0.0 is inactive, NaN is active), in order.
// Reads 64-byte blocks as eight 64-bit words and skips a block whose bits are all zero.
template <typename T, typename F>
inline void ForEachActive(const T* s, int64_t n, F&& f) {
  constexpr int64_t kPerWord = 8 / sizeof(T);
  constexpr int64_t kBlock = 8 * kPerWord;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    uint64_t acc = 0;
    for (int64_t w = 0; w < 8; ++w) {
      uint64_t word;
      std::memcpy(&word, s + i + w * kPerWord, sizeof(word));
      acc |= word;
    }
    if (acc == 0) continue;
    for (int64_t j = i; j < i + kBlock; ++j) {
      if (s[j] != T(0)) f(j, s[j]);
    }
  }
  for (; i < n; ++i) {
    if (s[i] != T(0)) f(i, s[i]);
  }
}

template <ffi::DataType DT>
ffi::Error CsrEventMatvec(ffi::Buffer<ffi::S32> indptr, ffi::Buffer<ffi::S32> indices,
                          ffi::Buffer<DT> weights, ffi::Buffer<DT> spikes,
                          ffi::ResultBuffer<DT> out) {
  using T = ffi::NativeType<DT>;
  auto out_dims = out->dimensions();
  if (out_dims.size() < 1) return ffi::Error::InvalidArgument("output must have rank >= 1.");
  const int64_t batch_rank = static_cast<int64_t>(out_dims.size()) - 1;
  ffi::Span<const int64_t> out_batch(out_dims.begin(), batch_rank);
  const int64_t n_post = out_dims.back();
  const int64_t w_rank = static_cast<int64_t>(weights.dimensions().size()) - batch_rank;
  if (w_rank != 0 && w_rank != 1) {
    return ffi::Error::InvalidArgument("`weights` must be 0-d (homogeneous) or (nnz,).");
  }
  const bool homogeneous = w_rank == 0;
  std::string err;
  std::vector<int64_t> o_indptr, o_indices, o_weights, o_spikes;
  if (!BatchOffsets(indptr.dimensions(), 1, out_batch, o_indptr, err, "indptr") ||
      !BatchOffsets(indices.dimensions(), 1, out_batch, o_indices, err, "indices") ||
      !BatchOffsets(weights.dimensions(), w_rank, out_batch, o_weights, err, "weights") ||
      !BatchOffsets(spikes.dimensions(), 1, out_batch, o_spikes, err, "spikes")) {
    return ffi::Error::InvalidArgument(err);
  }
  const int64_t n_pre = spikes.dimensions().back();
  const int64_t nnz = indices.dimensions().back();
  if (indptr.dimensions().back() != n_pre + 1) {
    return ffi::Error::InvalidArgument("`indptr` must have length n_pre + 1.");
  }
  if (!homogeneous && weights.dimensions().back() != nnz) {
    return ffi::Error::InvalidArgument("`weights` must have the same length as `indices`.");
  }
  const int32_t* ip_all = indptr.typed_data();
  const int32_t* ix_all = indices.typed_data();
  const T* w_all = weights.typed_data();
  const T* s_all = spikes.typed_data();
  T* y_all = out->typed_data();
  bool bad_row = false;
  for (size_t b = 0; b < o_spikes.size(); ++b) {
    const int32_t* ip = ip_all + o_indptr[b];
    const int32_t* ix = ix_all + o_indices[b];
    const T* w = w_all + o_weights[b];
    T* y = y_all + static_cast<int64_t>(b) * n_post;
    std::memset(y, 0, sizeof(T) * n_post);
    const uint64_t n_post_u = static_cast<uint64_t>(n_post);
    auto visit = [&](int64_t i, T s) {
      const int64_t start = ip[i], end = ip[i + 1];
      if (start < 0 || end < start || end > nnz) {
        bad_row = true;
        return;
      }
      if (homogeneous) {
        const T sw = s * w[0];
        for (int64_t k = start; k < end; ++k) {
          const uint64_t j = static_cast<uint32_t>(ix[k]);
          if (j < n_post_u) y[j] += sw;
        }
      } else {
        for (int64_t k = start; k < end; ++k) {
          const uint64_t j = static_cast<uint32_t>(ix[k]);
          if (j < n_post_u) y[j] += s * w[k];
        }
      }
    };
    ForEachActive(s_all + o_spikes[b], n_pre, visit);
  }
  if (bad_row) {
    return ffi::Error::InvalidArgument(
        "`indptr` is not a valid CSR row pointer (must be non-decreasing within [0, nnz]).");
  }
  return ffi::Error::Success();
}

template <ffi::DataType DT>
ffi::Error EllEventMatvec(ffi::Buffer<ffi::S32> targets, ffi::Buffer<DT> weights,
                          ffi::Buffer<DT> spikes, ffi::ResultBuffer<DT> out) {
  using T = ffi::NativeType<DT>;
  auto out_dims = out->dimensions();
  if (out_dims.size() < 1) return ffi::Error::InvalidArgument("output must have rank >= 1.");
  const int64_t batch_rank = static_cast<int64_t>(out_dims.size()) - 1;
  ffi::Span<const int64_t> out_batch(out_dims.begin(), batch_rank);
  const int64_t n_post = out_dims.back();
  const int64_t w_rank = static_cast<int64_t>(weights.dimensions().size()) - batch_rank;
  if (w_rank != 0 && w_rank != 2) {
    return ffi::Error::InvalidArgument("`weights` must be 0-d (homogeneous) or (n_pre, k).");
  }
  const bool homogeneous = w_rank == 0;
  std::string err;
  std::vector<int64_t> o_targets, o_weights, o_spikes;
  if (!BatchOffsets(targets.dimensions(), 2, out_batch, o_targets, err, "targets") ||
      !BatchOffsets(weights.dimensions(), w_rank, out_batch, o_weights, err, "weights") ||
      !BatchOffsets(spikes.dimensions(), 1, out_batch, o_spikes, err, "spikes")) {
    return ffi::Error::InvalidArgument(err);
  }
  auto t_dims = targets.dimensions();
  const int64_t n_pre = t_dims[t_dims.size() - 2];
  const int64_t k = t_dims.back();
  if (spikes.dimensions().back() != n_pre) {
    return ffi::Error::InvalidArgument("`spikes` must have length n_pre = targets.shape[-2].");
  }
  if (!homogeneous) {
    auto w_dims = weights.dimensions();
    if (w_dims[w_dims.size() - 2] != n_pre || w_dims.back() != k) {
      return ffi::Error::InvalidArgument("`weights` must have the shape of `targets`.");
    }
  }
  const int32_t* t_all = targets.typed_data();
  const T* w_all = weights.typed_data();
  const T* s_all = spikes.typed_data();
  T* y_all = out->typed_data();
  const uint64_t n_post_u = static_cast<uint64_t>(n_post);
  for (size_t b = 0; b < o_spikes.size(); ++b) {
    const int32_t* tg = t_all + o_targets[b];
    const T* w = w_all + o_weights[b];
    T* y = y_all + static_cast<int64_t>(b) * n_post;
    std::memset(y, 0, sizeof(T) * n_post);
    if (homogeneous) {
      const T w0 = w[0];
      ForEachActive(s_all + o_spikes[b], n_pre, [&](int64_t i, T s) {
        const int32_t* row = tg + i * k;
        const T sw = s * w0;
        for (int64_t c = 0; c < k; ++c) {
          const uint64_t j = static_cast<uint32_t>(row[c]);
          if (j < n_post_u) y[j] += sw;
        }
      });
    } else {
      ForEachActive(s_all + o_spikes[b], n_pre, [&](int64_t i, T s) {
        const int32_t* row = tg + i * k;
        const T* wrow = w + i * k;
        for (int64_t c = 0; c < k; ++c) {
          const uint64_t j = static_cast<uint32_t>(row[c]);
          if (j < n_post_u) y[j] += s * wrow[c];
        }
      });
    }
  }
  return ffi::Error::Success();
}

}  // namespace

#define BRAINSIM_CSR_HANDLER(NAME, DT)                     \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, CsrEventMatvec<DT>, \
                                ffi::Ffi::Bind()           \
                                    .Arg<ffi::Buffer<ffi::S32>>() \
                                    .Arg<ffi::Buffer<ffi::S32>>() \
                                    .Arg<ffi::Buffer<DT>>()       \
                                    .Arg<ffi::Buffer<DT>>()       \
                                    .Ret<ffi::Buffer<DT>>());

#define BRAINSIM_ELL_HANDLER(NAME, DT)                     \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, EllEventMatvec<DT>, \
                                ffi::Ffi::Bind()           \
                                    .Arg<ffi::Buffer<ffi::S32>>() \
                                    .Arg<ffi::Buffer<DT>>()       \
                                    .Arg<ffi::Buffer<DT>>()       \
                                    .Ret<ffi::Buffer<DT>>());

BRAINSIM_CSR_HANDLER(BrainsimCsrEventMatvecF32, ffi::F32)
BRAINSIM_CSR_HANDLER(BrainsimCsrEventMatvecF64, ffi::F64)
BRAINSIM_ELL_HANDLER(BrainsimEllEventMatvecF32, ffi::F32)
BRAINSIM_ELL_HANDLER(BrainsimEllEventMatvecF64, ffi::F64)
