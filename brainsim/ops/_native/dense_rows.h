// Row-oriented building blocks of the training kernels (train_kernels.cc), written with GCC
// vector extensions so that one source compiles to SSE2 or AVX2+FMA (the callers are cloned per
// instruction set, see BRAINSIM_TRAIN_CLONES there):
//
//   GatherRows    out[0:n] = sum_e val[e] w[idx[e]][0:n]         (a sparse row times a matrix)
//   ScatterRow    d[idx[e]][0:n] += val[e] g[0:n] for every e     (its transpose, accumulated)
//   DenseRows     out[r][0:n] = sum_j g[r][j] w[j][0:n], r < kRows (a small dense product)
//
// GatherRows and DenseRows keep a block of the output in registers while they walk the rows of
// `w`, so each output element is stored once; the rows of `w` are contiguous (length >= n,
// leading dimension `ldw`). Each output element is summed in the order of the inputs (events in
// index order, j ascending).
#ifndef BRAINSIM_OPS_NATIVE_DENSE_ROWS_H_
#define BRAINSIM_OPS_NATIVE_DENSE_ROWS_H_

#include <cstdint>
#include <cstring>

#include "event_rows.h"

namespace brainsim_train {

// 32 bytes of T: one AVX register, two SSE registers.
template <typename T>
struct Simd {
  typedef T V __attribute__((vector_size(32)));
  static constexpr int64_t kLanes = 32 / sizeof(T);
};

template <typename T>
inline __attribute__((always_inline)) typename Simd<T>::V Load(const T* p) {
  typename Simd<T>::V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
inline __attribute__((always_inline)) void Store(T* p, typename Simd<T>::V v) {
  std::memcpy(p, &v, sizeof(v));
}

// Indices and values of the nonzero entries of row[0:k] (-0.0 counts as zero, NaN as nonzero),
// in index order; returns their number. Blocks of zero bits are skipped (event_rows.h); within
// a block the writes are unconditional and only the count depends on the value (no branch).
template <typename T>
inline int64_t Compact(const T* __restrict row, int64_t k, int32_t* __restrict idx,
                       T* __restrict val) {
  constexpr int64_t kBlock = brainsim_events::kBlock<T>;
  int64_t count = 0, i = 0;
  for (; i + kBlock <= k; i += kBlock) {
    if (brainsim_events::ZeroBlock(row + i)) continue;
    for (int64_t j = i; j < i + kBlock; ++j) {
      idx[count] = static_cast<int32_t>(j);
      val[count] = row[j];
      count += row[j] != T(0);
    }
  }
  for (; i < k; ++i) {
    idx[count] = static_cast<int32_t>(i);
    val[count] = row[i];
    count += row[i] != T(0);
  }
  return count;
}

// out[0:n] = (kAccumulate ? out[0:n] : 0) + sum_e val[e] w[idx[e] * ldw + 0:n].
template <typename T, bool kAccumulate>
inline __attribute__((always_inline)) void GatherRows(T* __restrict out, const T* __restrict w,
                                                      int64_t ldw, int64_t n,
                                                      const int32_t* __restrict idx,
                                                      const T* __restrict val, int64_t count) {
  using V = typename Simd<T>::V;
  constexpr int64_t L = Simd<T>::kLanes;
  constexpr int64_t kVectors = 8;  // 8 independent accumulators hide the add latency
  constexpr int64_t kChunk = kVectors * L;
  int64_t c = 0;
  for (; c + kChunk <= n; c += kChunk) {
    V acc[kVectors];
    for (int64_t v = 0; v < kVectors; ++v) acc[v] = kAccumulate ? Load(out + c + v * L) : V{};
    for (int64_t e = 0; e < count; ++e) {
      const T* row = w + idx[e] * ldw + c;
      const T s = val[e];  // a scalar operand of a vector operation is broadcast
      for (int64_t v = 0; v < kVectors; ++v) acc[v] += s * Load(row + v * L);
    }
    for (int64_t v = 0; v < kVectors; ++v) Store(out + c + v * L, acc[v]);
  }
  for (; c + L <= n; c += L) {
    V acc = kAccumulate ? Load(out + c) : V{};
    for (int64_t e = 0; e < count; ++e) acc += val[e] * Load(w + idx[e] * ldw + c);
    Store(out + c, acc);
  }
  for (; c < n; ++c) {
    T acc = kAccumulate ? out[c] : T(0);
    for (int64_t e = 0; e < count; ++e) acc += val[e] * w[idx[e] * ldw + c];
    out[c] = acc;
  }
}

// d[idx[e] * ldd + 0:n] += val[e] g[0:n] for e = 0 .. count - 1.
template <typename T>
inline __attribute__((always_inline)) void ScatterRow(T* __restrict d, int64_t ldd,
                                                      const T* __restrict g, int64_t n,
                                                      const int32_t* __restrict idx,
                                                      const T* __restrict val, int64_t count) {
  using V = typename Simd<T>::V;
  constexpr int64_t L = Simd<T>::kLanes;
  for (int64_t e = 0; e < count; ++e) {
    T* row = d + idx[e] * ldd;
    const T s = val[e];
    int64_t c = 0;
    for (; c + L <= n; c += L) Store(row + c, Load(row + c) + s * Load(g + c));
    for (; c < n; ++c) row[c] += val[e] * g[c];
  }
}

// out[r * ldo + 0:n] = sum_{j < m} g[r * ldg + j] w[j * ldw + 0:n] for r < kRows: a block of
// kRows rows of a dense (rows, m) x (m, n) product, two vectors of each row in registers.
template <typename T, int64_t kRows>
inline __attribute__((always_inline)) void DenseRows(T* __restrict out, int64_t ldo,
                                                     const T* __restrict g, int64_t ldg,
                                                     const T* __restrict w, int64_t ldw,
                                                     int64_t m, int64_t n) {
  using V = typename Simd<T>::V;
  constexpr int64_t L = Simd<T>::kLanes;
  int64_t c = 0;
  for (; c + 2 * L <= n; c += 2 * L) {
    V acc[kRows][2];
    for (int64_t r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = V{};
    for (int64_t j = 0; j < m; ++j) {
      const V w0 = Load(w + j * ldw + c), w1 = Load(w + j * ldw + c + L);
      for (int64_t r = 0; r < kRows; ++r) {
        const T s = g[r * ldg + j];
        acc[r][0] += s * w0;
        acc[r][1] += s * w1;
      }
    }
    for (int64_t r = 0; r < kRows; ++r) {
      Store(out + r * ldo + c, acc[r][0]);
      Store(out + r * ldo + c + L, acc[r][1]);
    }
  }
  for (; c < n; ++c) {
    for (int64_t r = 0; r < kRows; ++r) {
      T acc = T(0);
      for (int64_t j = 0; j < m; ++j) acc += g[r * ldg + j] * w[j * ldw + c];
      out[r * ldo + c] = acc;
    }
  }
}

}  // namespace brainsim_train

#endif  // BRAINSIM_OPS_NATIVE_DENSE_ROWS_H_
