// Batch elements of the fused network kernel's operands (network_kernels.cc). A batched call
// (points of a sweep, `jax.vmap` of brainsim.fused.run_fused_chunk) gives every operand a
// leading axis of B (one slice per point) or 1 (shared by all points, e.g. connectivity that is
// not swept), and every result a leading axis of B; an unbatched call gives none. Element(b)
// is point b's slice: its data, its element count and its dimensions without that axis.
#ifndef BRAINSIM_OPS_NATIVE_BATCH_VIEW_H_
#define BRAINSIM_OPS_NATIVE_BATCH_VIEW_H_

#include <cstdint>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace brainsim_network {

namespace ffi = xla::ffi;

struct Batch {
  bool on = false;   // operands carry the batch axis
  int64_t size = 1;  // B
};

template <typename T>
struct Element {
  T* data = nullptr;
  int64_t count = 0;
  std::vector<int64_t> dims;
  bool ok = false;  // false: the leading axis is neither B nor 1
};

// Point b's slice of a buffer (an operand or a result: anything with dimensions()).
template <typename T, typename Buf>
Element<T> ElementOf(const Buf& buf, T* base, const Batch& batch, int64_t b) {
  auto d = buf.dimensions();
  Element<T> e;
  const int64_t rank = static_cast<int64_t>(d.size());
  if (!batch.on) {
    e.data = base;
    e.count = static_cast<int64_t>(buf.element_count());
    for (int64_t k = 0; k < rank; ++k) e.dims.push_back(d[k]);
    e.ok = true;
    return e;
  }
  if (rank == 0 || (d[0] != 1 && d[0] != batch.size)) return e;
  e.count = d[0] == 0 ? 0 : static_cast<int64_t>(buf.element_count()) / d[0];
  e.data = base + (d[0] == 1 ? 0 : b * e.count);
  for (int64_t k = 1; k < rank; ++k) e.dims.push_back(d[k]);
  e.ok = true;
  return e;
}

// Point b's slices of the connectivity operands (the RemainingArgs), by position and dtype.
class ElementArgs {
 public:
  ElementArgs(ffi::RemainingArgs args, Batch batch, int64_t b) : args_(args), batch_(batch), b_(b) {}

  template <ffi::DataType D>
  bool Get(int64_t i, Element<ffi::NativeType<D>>* out) const {
    auto buf = args_.get<ffi::Buffer<D>>(static_cast<size_t>(i));
    if (!buf) return false;
    *out = ElementOf(*buf, buf->typed_data(), batch_, b_);
    return out->ok;
  }

 private:
  ffi::RemainingArgs args_;
  Batch batch_;
  int64_t b_;
};

}  // namespace brainsim_network

#endif  // BRAINSIM_OPS_NATIVE_BATCH_VIEW_H_
