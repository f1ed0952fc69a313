// Procedural (seed-regenerated) connectivity rows, shared by the event kernels and the fused
// network kernel. The specification is `brainsim/ops/procedural.py`'s, bit for bit:
//
//   (y0, y1) = Threefry-2x32, 20 rounds (Salmon et al. 2011; the generator of jax.random) of the
//              counter (row, pair) under the 2-word key;
//   target of slot 2 pair     = floor(y0 * n_post / 2^32)   (multiply-high: in [0, n_post))
//   target of slot 2 pair + 1 = floor(y1 * n_post / 2^32)
//
// for pair = 0, 1, ..., so a row of `count` synapses costs ceil(count / 2) hashes and nothing
// is stored. Only integer operations: the same key gives the same targets on every platform.

#ifndef BRAINSIM_OPS_NATIVE_PROCEDURAL_ROWS_H_
#define BRAINSIM_OPS_NATIVE_PROCEDURAL_ROWS_H_

#include <cstdint>

namespace brainsim_procedural {

inline __attribute__((always_inline)) uint32_t RotateLeft(uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

// Threefry-2x32 with 20 rounds: rotation constants and key schedule of Random123 (and of JAX's
// `threefry_2x32`), key injection after every 4 rounds.
inline __attribute__((always_inline)) void Threefry2x32(uint32_t k0, uint32_t k1, uint32_t c0,
                                                        uint32_t c1, uint32_t* y0, uint32_t* y1) {
  const uint32_t ks[3] = {k0, k1, 0x1BD11BDAu ^ k0 ^ k1};
  uint32_t x0 = c0 + ks[0];
  uint32_t x1 = c1 + ks[1];
  constexpr int kRot[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
#pragma GCC unroll 5
  for (uint32_t s = 1; s <= 5; ++s) {
    const int* rot = kRot[(s - 1) & 1];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      x0 += x1;
      x1 = RotateLeft(x1, rot[r]);
      x1 ^= x0;
    }
    x0 += ks[s % 3];
    x1 += ks[(s + 1) % 3] + s;
  }
  *y0 = x0;
  *y1 = x1;
}

inline __attribute__((always_inline)) uint32_t MulHigh(uint32_t word, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(word) * n) >> 32);
}

// Targets of the first `count` synapses of `row` into `out` (room for count + 1 entries).
// The hash loop has no dependence between pairs, so the compiler vectorises it.
inline void RowTargets(uint32_t k0, uint32_t k1, uint32_t row, int64_t count, uint32_t n_post,
                       int32_t* __restrict out) {
  const int64_t pairs = (count + 1) / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    uint32_t y0, y1;
    Threefry2x32(k0, k1, row, static_cast<uint32_t>(p), &y0, &y1);
    out[2 * p] = static_cast<int32_t>(MulHigh(y0, n_post));
    out[2 * p + 1] = static_cast<int32_t>(MulHigh(y1, n_post));
  }
}

}  // namespace brainsim_procedural

#endif  // BRAINSIM_OPS_NATIVE_PROCEDURAL_ROWS_H_
