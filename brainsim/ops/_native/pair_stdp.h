// Pair STDP inside the fused network kernel (network_step.h): one projection's traces and
// weights over one step, with the operations, in the order, of brainsim.network.plasticity's
// apply_plasticity for brainsim.dynamics.plasticity.PairSTDP (hard bounds), so the two engines
// give the same float32 weights:
//
//   1. x_i <- x_i d_+ for every presynaptic i, y_j <- y_j d_- for every postsynaptic j
//      (d_+- = exp(-dt / tau_+-), computed by the caller as the rule's own `decay` computes it);
//   2. every synapse (i, j) of a row i whose spike arrived this step:
//      w_ij <- clip(w_ij + (-A_-) y_j, w_min, w_max); then x_i <- x_i + 1 (all-to-all pairing)
//      or x_i <- 1 (nearest);
//   3. every synapse (i, j) of a column j whose neuron spiked this step:
//      w_ij <- clip(w_ij + A_+ x_i, w_min, w_max); then y_j <- y_j + 1 (or 1).
// XLA fuses a trace's decay with its count into one fused multiply-add where the CPU has them
// (x_old d + 1, rounded once), so an all-to-all count does the same when `fma` is set.
//
// The spikes of the fused kernel's LIF populations are 1.0, so the generic step's factor s (the
// spike value) is exactly 1 here. Cost per step: O(n_pre + n_post) for the decay, plus the
// synapses of the active rows and of the active columns (through the column index, a CSC view
// of the stored slots: colptr (n_post + 1), slots (synapses)). A CSR slot's row comes from a
// table of the row of every 2^kSlotBlockBits-th slot, built once per call (4 bytes per 32
// synapses, freed after the call), and one branch-free step of the row pointer from there (a
// longer walk only past rows shorter than a block). A binary search of the row pointer cost
// ~70% of the plastic step (branch mispredictions, COBA N=4,000).
#ifndef BRAINSIM_OPS_NATIVE_PAIR_STDP_H_
#define BRAINSIM_OPS_NATIVE_PAIR_STDP_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace brainsim_network {

// The floats of one pair-STDP projection (the operand `plastic_floats`, kPairFloats each).
enum PairFloat : int64_t {
  kDecayPre = 0,  // d_+ = exp(-dt / tau_+)
  kDecayPost,     // d_- = exp(-dt / tau_-)
  kAPlus,         // A_+
  kMinusAMinus,   // -A_-
  kWMin,
  kWMax,
  kPairFloats,
};

// Where one plastic projection's arrays are: the mutable weights (stored layout), the traces
// and the column index, with its connectivity's geometry.
struct PairStdpArrays {
  float* w;
  float* x;  // presynaptic traces (n_pre)
  float* y;  // postsynaptic traces (n_post)
  const float* f;  // kPairFloats
  const int32_t* colptr;
  const int32_t* slots;
  const int32_t* indptr;   // CSR row pointer, or nullptr for ELL
  const int32_t* block_row;  // CSR: the row of slot b << kSlotBlockBits (SlotBlockRows)
  const int32_t* targets;  // CSR indices or ELL targets
  int64_t n_pre, n_post, row_width;  // row_width: ELL only
  bool nearest;
};

// Scratch of PairStdpStep: the traces of the counted neurons before their decay.
struct PairStdpScratch {
  std::vector<float> pre_old, post_old;
  std::vector<int32_t> touched;  // slots of the spiking columns
};

constexpr int64_t kSlotBlockBits = 5;
constexpr int64_t kColumnAhead = 32;

inline float Clip(float w, float lo, float hi) { return std::min(std::max(w, lo), hi); }

// For a CSR row pointer over nnz slots: the row holding slot b << kSlotBlockBits, for every b.
inline std::vector<int32_t> SlotBlockRows(const int32_t* indptr, int64_t n_pre, int64_t nnz) {
  std::vector<int32_t> rows((nnz >> kSlotBlockBits) + 1, 0);
  int64_t b = 0;
  for (int64_t i = 0; i < n_pre; ++i) {
    for (; b < static_cast<int64_t>(rows.size()) && (b << kSlotBlockBits) < indptr[i + 1]; ++b) {
      rows[b] = static_cast<int32_t>(i);
    }
  }
  return rows;
}

// The row of stored slot `slot`: ELL by division; CSR from its block's row, stepping forward to
// the row whose range holds the slot (one step, without a branch, for rows of a block or more).
inline int64_t RowOfSlot(const PairStdpArrays& a, int64_t slot) {
  if (a.indptr == nullptr) return slot / a.row_width;
  int64_t row = a.block_row[slot >> kSlotBlockBits];
  row += a.indptr[row + 1] <= slot;
  while (a.indptr[row + 1] <= slot) ++row;
  return row;
}

// A trace after the step in which its neuron spiked (all-to-all): old d + 1, as XLA rounds it.
inline float Counted(float old, float decay, bool fma) {
  return fma ? __builtin_fmaf(old, decay, 1.0f) : old * decay + 1.0f;
}

// One step of pair STDP: `arrived` rows (presynaptic spikes reaching the projection, in row
// order), `fired` columns (postsynaptic spikes of this step); `fma`: whether XLA's arithmetic
// (isa_dispatch.h) fuses multiply-adds.
inline void PairStdpStep(const PairStdpArrays& a, const std::vector<int32_t>& arrived,
                         const std::vector<int32_t>& fired, bool fma, PairStdpScratch* scratch) {
  const float d_pre = a.f[kDecayPre], d_post = a.f[kDecayPost];
  const float a_plus = a.f[kAPlus], minus_a_minus = a.f[kMinusAMinus];
  const float lo = a.f[kWMin], hi = a.f[kWMax];
  std::vector<float>& pre_old = scratch->pre_old;
  std::vector<float>& post_old = scratch->post_old;
  pre_old.clear();
  post_old.clear();
  for (int32_t i : arrived) pre_old.push_back(a.x[i]);
  for (int32_t j : fired) post_old.push_back(a.y[j]);
  for (int64_t i = 0; i < a.n_pre; ++i) a.x[i] *= d_pre;
  for (int64_t j = 0; j < a.n_post; ++j) a.y[j] *= d_post;
  for (int32_t i : arrived) {
    const int64_t first = a.indptr ? a.indptr[i] : i * a.row_width;
    const int64_t last = a.indptr ? a.indptr[i + 1] : first + a.row_width;
    for (int64_t slot = first; slot < last; ++slot) {
      const int64_t j = a.targets[slot];
      if (j >= a.n_post) continue;  // ELL padding
      a.w[slot] = Clip(a.w[slot] + minus_a_minus * a.y[j], lo, hi);
    }
  }
  for (size_t r = 0; r < arrived.size(); ++r) {
    a.x[arrived[r]] = a.nearest ? 1.0f : Counted(pre_old[r], d_pre, fma);
  }
  // The columns' synapses lie scattered over the weights: list them all, then move them with
  // the weight kColumnAhead synapses ahead prefetched (across column boundaries).
  std::vector<int32_t>& touched = scratch->touched;
  touched.clear();
  for (int32_t j : fired) {
    touched.insert(touched.end(), a.slots + a.colptr[j], a.slots + a.colptr[j + 1]);
  }
  const int64_t n_touched = static_cast<int64_t>(touched.size());
  for (int64_t c = 0; c < std::min(kColumnAhead, n_touched); ++c) __builtin_prefetch(a.w + touched[c]);
  for (int64_t c = 0; c < n_touched; ++c) {
    if (c + kColumnAhead < n_touched) __builtin_prefetch(a.w + touched[c + kColumnAhead]);
    const int64_t slot = touched[c];
    a.w[slot] = Clip(a.w[slot] + a_plus * a.x[RowOfSlot(a, slot)], lo, hi);
  }
  for (size_t r = 0; r < fired.size(); ++r) {
    a.y[fired[r]] = a.nearest ? 1.0f : Counted(post_old[r], d_post, fma);
  }
}

}  // namespace brainsim_network

#endif  // BRAINSIM_OPS_NATIVE_PAIR_STDP_H_
