// The two halves of an event-driven step, shared by the event kernels (event_kernels.cc) and
// the fused network kernel (network_kernels.cc): finding the active rows (ForEachActive), and
// the scattered adds (ScatterRows):
//
//   y_j += s_i w_ij   for every active row i, in the given (row) order, and every target j with
//                     lo <= j < lo + width (one unsigned comparison, which also drops ELL
//                     padding and any target outside [0, n_post)).
//
// Row i's synapses are [first(i), first(i) + length(i)) of `ix` (and of `w`, unless
// `homogeneous`: then w[0] is every weight). Each y_j is summed in row order, as the pure-JAX
// reference sums it.
//
// The rows lie scattered in memory, and the hardware prefetcher does not follow the jumps
// between them. The first cache line of every active row is prefetched before any is scattered
// (so those misses overlap instead of queueing behind each other), and the rest of row
// r + kAhead while row r is scattered. Measured on the fused COBA N=400k (in-degree 80,
// 2 threads), s per biological second, medians of 8 runs: 7.1 with the first lines only;
// kAhead = 2: 5.4, 3: 4.95, 8: 5.75. Slower: prefetching every line of every row up front (the
// prefetches overflow the miss queues), and also prefetching the next row's y_j.
#ifndef BRAINSIM_OPS_NATIVE_EVENT_ROWS_H_
#define BRAINSIM_OPS_NATIVE_EVENT_ROWS_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace brainsim_events {

// Elements of T in a 64-byte block, and whether the block at s has only zero bits (read as
// eight 64-bit words).
template <typename T>
constexpr int64_t kBlock = 64 / sizeof(T);

template <typename T>
inline bool ZeroBlock(const T* s) {
  uint64_t acc = 0;
  for (int64_t w = 0; w < 8; ++w) {
    uint64_t word;
    std::memcpy(&word, reinterpret_cast<const char*>(s) + 8 * w, sizeof(word));
    acc |= word;
  }
  return acc == 0;
}

// Calls f(i, s_i) for every i with s_i != 0 (so -0.0 is inactive, NaN is active), in order,
// skipping 64-byte blocks whose bits are all zero.
template <typename T, typename F>
inline void ForEachActive(const T* s, int64_t n, F&& f) {
  constexpr int64_t kBlock = brainsim_events::kBlock<T>;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    if (ZeroBlock(s + i)) continue;
    for (int64_t j = i; j < i + kBlock; ++j) {
      if (s[j] != T(0)) f(j, s[j]);
    }
  }
  for (; i < n; ++i) {
    if (s[i] != T(0)) f(i, s[i]);
  }
}

template <typename T, typename RowFirst, typename RowLength>
inline void ScatterRows(const std::vector<int32_t>& rows, RowFirst first, RowLength length,
                        const int32_t* __restrict ix, const T* __restrict w, bool homogeneous,
                        const T* __restrict s, T* __restrict y, uint32_t lo, uint32_t width) {
  constexpr int64_t kAhead = 3;
  constexpr int64_t kLine = 64 / sizeof(int32_t);
  for (int32_t i : rows) {
    __builtin_prefetch(ix + first(i));
    if (!homogeneous) __builtin_prefetch(w + first(i));
  }
  const int64_t n_rows = static_cast<int64_t>(rows.size());
  for (int64_t r = 0; r < n_rows; ++r) {
    if (r + kAhead < n_rows) {
      const int32_t ahead = rows[r + kAhead];
      const int64_t a = first(ahead), len = length(ahead);
      for (int64_t c = kLine; c < len + kLine - 1; c += kLine) {  // up to the row's last line
        const int64_t at = a + std::min(c, len - 1);
        __builtin_prefetch(ix + at);
        if (!homogeneous) __builtin_prefetch(w + at);
      }
    }
    const int32_t i = rows[r];
    const int64_t a = first(i), len = length(i);
    const int32_t* row = ix + a;
    const T si = s[i];
    if (homogeneous) {
      const T sw = si * w[0];
      for (int64_t c = 0; c < len; ++c) {
        const uint32_t j = static_cast<uint32_t>(row[c]);
        if (j - lo < width) y[j] += sw;
      }
    } else {
      const T* wrow = w + a;
      for (int64_t c = 0; c < len; ++c) {
        const uint32_t j = static_cast<uint32_t>(row[c]);
        if (j - lo < width) y[j] += si * wrow[c];
      }
    }
  }
}

}  // namespace brainsim_events

#endif  // BRAINSIM_OPS_NATIVE_EVENT_ROWS_H_
