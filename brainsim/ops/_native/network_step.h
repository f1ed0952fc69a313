// The fused network kernel's step loop (network_kernels.cc): the state every thread shares
// during one call (NetworkRun), and one thread's part of the K steps (StepWorker), phase by
// phase as brainsim.Network.step runs them for one step t (state.step = t):
//
//   ReadHistory        the active rows of every projection: the presynaptic population's spikes
//                      of step t - delay (history slot (t - delay) mod L_pre), from the spike
//                      lists; HashProceduralRows regenerates a share of the procedural ones.
//   Deliver            d_j = sum over active rows i, in row order, of s_i w_ij, into this
//                      thread's postsynaptic neurons (event_rows.h, procedural_rows.h).
//   AssembleInputs     per population, I0 = sum_p (COBA: g_p E_p | CUBA: g_p) + I_const and
//                      G = sum_p g_p (COBA only), in projection order, with g_p <- g_p + d_p;
//                      the generic step's "decay synapses" (g_p <- g_p decay_p) is fused into
//                      the same pass, so each g_p is read and written once.
//   AdvanceNeurons     the LIF update, reset and spike flags of one population (lif_update.h);
//                      for a population with at most kMaxInlineIn incoming projections, all
//                      with a scalar decay, AssembleInputs' work (and the decay) is done inside
//                      the neuron loop instead (no I0/G arrays).
//   WriteHistory       the population's spikes to history slot t mod L: the slot's old
//                      spikes (step t - L) cleared, this step's set, from the spike list.
//   Plasticity         pair STDP of the plastic projections (pair_stdp.h), by thread 0 after
//                      a barrier (every thread's spikes known), from the rows that arrived and
//                      the postsynaptic spike lists; the next step's delivery (after the
//                      step's last barrier) reads the new weights.
//
// Threads: thread `tid` owns the neurons [lo, hi) of every population (bounds on 16-neuron,
// 64-byte boundaries). It delivers only to its own postsynaptic neurons (every thread walks all
// active rows, in row order, so each neuron's sum is formed in the same order as with one
// thread: the results do not depend on the thread count), updates them, and writes their
// spike-history entries. One barrier per step separates the history writes of step t from the
// reads of step t + 1; one more when a delay equals the history length (the row read at step
// t is the row written at step t); one more with procedural projections (all shares hashed
// before any is scattered); one per call after the spike lists are built.
//
// Spike lists: spike_lists[tid * n_pops + q][slot] holds, in order, the neurons of thread tid's
// slice of population q whose entry in history slot `slot` is nonzero. They are built once per
// call from the history; afterwards a step's active rows are the concatenation of the threads'
// lists (no scan of the N-long history row), and a step writes only the history entries that
// change instead of the row. Per step, threads read each other's lists (a few hundred
// indices) and the spike values of the active rows, plus the hashed rows of procedural
// projections; nothing N-long.
#ifndef BRAINSIM_OPS_NATIVE_NETWORK_STEP_H_
#define BRAINSIM_OPS_NATIVE_NETWORK_STEP_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "barrier.h"
#include "event_rows.h"
#include "isa_dispatch.h"
#include "lif_update.h"
#include "network_metadata.h"
#include "procedural_rows.h"

namespace brainsim_network {

// What the threads share during one call: the state buffers (already holding the operands'
// values), the per-population and per-projection choices made once, the scratch arrays, and
// the per-thread results.
struct NetworkRun {
  const std::vector<Population>& pops;
  const std::vector<Projection>& projs;
  const int64_t n_pops, n_proj, n_total, n_steps, n_threads, t0;
  const float dt;
  float* const v;
  float* const ref;
  float* const g;
  float* const hist;
  const float* const params;       // neuron parameters
  const float* const proj_floats;  // E_rev and decay factors
  uint8_t* const raster;           // (K, N), or nullptr when not recorded
  int32_t* const overflow;         // (projections)
  const Kernels& kern;

  std::vector<float> delivered, i0, gsum;  // d (like g), I0 and G (like v)
  // A population whose first incoming projection is COBA gets I0 and G written by it
  // (first_coba); the others (CUBA first, or no input) are cleared at every step.
  std::vector<bool> first_coba, cleared_each_step;
  // inline_in[q]: population q's synapses are updated inside its neuron loop; inline_proj[k]:
  // projection k's postsynaptic population's are.
  std::vector<bool> inline_in, inline_proj;
  std::vector<std::vector<InSyn>> in_syn;  // per population, its incoming projections
  std::vector<UpdateFn> update;            // per population
  std::vector<int64_t> bounds;             // [q * (n_threads + 1) + r]: thread r's first neuron
  std::vector<int32_t> thread_counts;      // [(tid * K + s) * n_pops + q]
  std::vector<uint8_t> thread_bad;         // same layout: NaN/Inf seen
  std::vector<std::vector<std::vector<int32_t>>> spike_lists;  // [tid * n_pops + q][slot]
  // fired[tid * n_pops + q]: this step's spikes of thread tid's slice of population q, for the
  // postsynaptic populations of plastic projections that keep no spike history.
  std::vector<std::vector<int32_t>> fired;
  std::vector<bool> post_of_plastic;  // per population
  // hashed[tid][k]: the targets of thread tid's share of procedural projection k's active rows.
  std::vector<std::vector<std::vector<int32_t>>> hashed;
  bool any_procedural = false, reread_row = false, any_plastic = false;
  SpinBarrier barrier;

  NetworkRun(const NetworkMetadata& net, int64_t n_steps_, int64_t threads, int64_t t0_,
             float dt_, float* v_, float* ref_, float* g_, float* hist_, const float* params_,
             const float* proj_floats_, uint8_t* raster_, int32_t* overflow_)
      : pops(net.pops),
        projs(net.projs),
        n_pops(static_cast<int64_t>(net.pops.size())),
        n_proj(static_cast<int64_t>(net.projs.size())),
        n_total(net.n_total),
        n_steps(n_steps_),
        n_threads(std::max<int64_t>(1, threads)),
        t0(t0_),
        dt(dt_),
        v(v_),
        ref(ref_),
        g(g_),
        hist(hist_),
        params(params_),
        proj_floats(proj_floats_),
        raster(raster_),
        overflow(overflow_),
        kern(PickKernels()),
        delivered(net.g_total, 0.0f),
        i0(net.n_total),
        gsum(net.n_total),
        barrier(n_threads) {
    ChooseSynapsePasses();
    SliceAmongThreads();
  }

  int64_t Lo(int64_t q, int64_t tid) const { return bounds[q * (n_threads + 1) + tid]; }
  int64_t Hi(int64_t q, int64_t tid) const { return bounds[q * (n_threads + 1) + tid + 1]; }
  // The first index of thread th's share of `rows` (procedural hashing).
  int64_t ShareOf(const std::vector<int32_t>& rows, int64_t th) const {
    return static_cast<int64_t>(rows.size()) * th / n_threads;
  }
  // History row of projection p's presynaptic population read at step t.
  const float* DeliveredSpikes(const Projection& p, int64_t t) const {
    const Population& pre = pops[p.pre];
    return pre.HistoryRow(hist, p.HistorySlot(t, pre.history_length));
  }

 private:
  // Which populations assemble their input inside the neuron loop, and the LIF update of each.
  void ChooseSynapsePasses() {
    first_coba.assign(n_proj, false);
    cleared_each_step.assign(n_pops, true);
    std::vector<bool> seen_post(n_pops, false);
    for (int64_t k = 0; k < n_proj; ++k) {
      const int64_t q = projs[k].post;
      if (!seen_post[q]) {
        seen_post[q] = true;
        first_coba[k] = projs[k].coba;
        cleared_each_step[q] = !projs[k].coba;
      }
    }
    in_syn.resize(n_pops);
    inline_in.assign(n_pops, true);
    inline_proj.assign(n_proj, false);
    for (int64_t k = 0; k < n_proj; ++k) {
      const Projection& p = projs[k];
      if (p.decay_length != 1) inline_in[p.post] = false;
      const float e = p.coba ? proj_floats[p.float_offset] : 1.0f;
      in_syn[p.post].push_back({g + p.g_offset, delivered.data() + p.g_offset, e,
                                proj_floats[p.float_offset + 1], p.coba});
    }
    update.resize(n_pops);
    for (int64_t q = 0; q < n_pops; ++q) {
      const int64_t n_in = static_cast<int64_t>(in_syn[q].size());
      if (n_in > kMaxInlineIn) inline_in[q] = false;
      const int slot = inline_in[q] ? static_cast<int>(n_in) : kArraysIn;
      update[q] = kern.update[pops[q].param_length > 1 ? 1 : 0][pops[q].reciprocal_cm ? 1 : 0][slot];
    }
    for (int64_t k = 0; k < n_proj; ++k) inline_proj[k] = inline_in[projs[k].post];
  }

  // Thread bounds, per-thread results, spike lists and procedural scratch.
  void SliceAmongThreads() {
    bounds.resize(static_cast<size_t>(n_pops * (n_threads + 1)));
    for (int64_t q = 0; q < n_pops; ++q) {
      for (int64_t r = 0; r <= n_threads; ++r) {
        const int64_t cut = (pops[q].n * r / n_threads) / 16 * 16;
        bounds[q * (n_threads + 1) + r] = r == n_threads ? pops[q].n : cut;
      }
    }
    thread_counts.assign(static_cast<size_t>(n_threads * n_steps * n_pops), 0);
    thread_bad.assign(static_cast<size_t>(n_threads * n_steps * n_pops), 0);
    spike_lists.resize(n_threads * n_pops);
    for (int64_t tid = 0; tid < n_threads; ++tid) {
      for (int64_t q = 0; q < n_pops; ++q) {
        spike_lists[tid * n_pops + q].resize(pops[q].history_length);
      }
    }
    for (const Projection& p : projs) any_procedural |= p.kind == kProcedural;
    fired.resize(n_threads * n_pops);
    post_of_plastic.assign(n_pops, false);
    for (const Projection& p : projs) {
      if (p.plasticity != kFixed) post_of_plastic[p.post] = any_plastic = true;
    }
    hashed.assign(n_threads, std::vector<std::vector<int32_t>>(n_proj));
    for (const Projection& p : projs) {
      reread_row |= n_threads > 1 && p.delay == pops[p.pre].history_length;
    }
  }
};

// One thread's part of a call: Run() advances its slice of every population by K steps.
class StepWorker {
 public:
  StepWorker(NetworkRun& run, int64_t tid)
      : run_(run), tid_(tid), active_(run.n_proj), my_in_(run.n_pops) {}

  void Run() {
    int64_t slice_max = 0;
    for (int64_t q = 0; q < run_.n_pops; ++q) {
      for (InSyn syn : run_.in_syn[q]) {  // this thread's slice of every incoming projection
        syn.g += Lo(q);
        syn.d += Lo(q);
        my_in_[q].push_back(syn);
      }
      slice_max = std::max(slice_max, Hi(q) - Lo(q));
      BuildSpikeLists(q);
    }
    flag_scratch_.resize(slice_max);  // spike flags when the raster is not recorded
    run_.barrier.Wait();              // every thread's lists are built before any is read
    int64_t t = run_.t0;
    for (int64_t s = 0; s < run_.n_steps; ++s, ++t) {
      ReadHistory(t);
      if (run_.any_procedural) {
        HashProceduralRows();
        run_.barrier.Wait();  // every share hashed before any is scattered
      }
      Deliver(t);
      // A history row read above may be the one this step's WriteHistory overwrites (a delay
      // equal to the history length): every thread must have finished reading it.
      if (run_.reread_row) run_.barrier.Wait();
      AssembleInputs();
      uint8_t* raster_step = run_.raster ? run_.raster + s * run_.n_total : nullptr;
      for (int64_t q = 0; q < run_.n_pops; ++q) {
        const Population& pop = run_.pops[q];
        uint8_t* flags = raster_step ? raster_step + pop.offset + Lo(q) : flag_scratch_.data();
        const int64_t fired = AdvanceNeurons(q, s, flags);
        if (pop.history_length > 0) {
          WriteHistory(q, t, flags, fired);
        } else if (run_.post_of_plastic[q]) {
          ListFired(q, flags, fired);
        }
      }
      if (run_.any_plastic) {
        run_.barrier.Wait();  // every thread's spikes before the weights move
        if (tid_ == 0) Plasticity(t);
      }
      run_.barrier.Wait();  // this step's history (and weights) before the next step's reads
    }
  }

 private:
  int64_t Lo(int64_t q) const { return run_.Lo(q, tid_); }
  int64_t Hi(int64_t q) const { return run_.Hi(q, tid_); }

  // The spike lists of this thread's slice of population q, from every history slot.
  void BuildSpikeLists(int64_t q) {
    const Population& pop = run_.pops[q];
    const int32_t lo = static_cast<int32_t>(Lo(q));
    for (int64_t slot = 0; slot < pop.history_length; ++slot) {
      std::vector<int32_t>& list = run_.spike_lists[tid_ * run_.n_pops + q][slot];
      brainsim_events::ForEachActive(
          pop.HistoryRow(run_.hist, slot) + lo, Hi(q) - lo,
          [&list, lo](int64_t i, float) { list.push_back(lo + static_cast<int32_t>(i)); });
    }
  }

  // Active rows of step t, per group of projections sharing a presynaptic population and a
  // delay (stored at the group's first projection): every thread's list, in thread order, so
  // in row order.
  void ReadHistory(int64_t t) {
    for (int64_t k = 0; k < run_.n_proj; ++k) {
      const Projection& p = run_.projs[k];
      if (p.share != k) continue;
      const int64_t slot = p.HistorySlot(t, run_.pops[p.pre].history_length);
      active_[k].clear();
      for (int64_t th = 0; th < run_.n_threads; ++th) {
        const std::vector<int32_t>& part = run_.spike_lists[th * run_.n_pops + p.pre][slot];
        active_[k].insert(active_[k].end(), part.begin(), part.end());
      }
    }
  }

  // This thread's share of every procedural projection's active rows, hashed once for all
  // threads into hashed[tid][k].
  void HashProceduralRows() {
    for (int64_t k = 0; k < run_.n_proj; ++k) {
      const Projection& p = run_.projs[k];
      if (p.kind != kProcedural) continue;
      const std::vector<int32_t>& rows = active_[p.share];
      std::vector<int32_t>& buf = run_.hashed[tid_][k];
      int64_t pos = 0;
      for (int64_t r = run_.ShareOf(rows, tid_); r < run_.ShareOf(rows, tid_ + 1); ++r) {
        const int64_t count = p.Count(rows[r]);
        if (static_cast<int64_t>(buf.size()) < pos + count + 1) buf.resize(2 * (pos + count + 1));
        brainsim_procedural::RowTargets(p.key[0], p.key[1], static_cast<uint32_t>(rows[r]),
                                        count, static_cast<uint32_t>(run_.pops[p.post].n),
                                        buf.data() + pos);
        pos += count;
      }
    }
  }

  // The weights of the spikes emitted `delay` steps ago, summed into d for this thread's
  // postsynaptic neurons; thread 0 counts the steps whose active rows exceed max_active.
  void Deliver(int64_t t) {
    for (int64_t k = 0; k < run_.n_proj; ++k) {
      const Projection& p = run_.projs[k];
      const float* sp = run_.DeliveredSpikes(p, t);
      const std::vector<int32_t>& rows = active_[p.share];
      if (tid_ == 0 && static_cast<int64_t>(rows.size()) > p.max_active) run_.overflow[k] += 1;
      if (rows.empty()) continue;
      float* d = run_.delivered.data() + p.g_offset;
      const uint32_t lo = static_cast<uint32_t>(Lo(p.post));
      // This thread's targets: j in [lo, lo + width), one unsigned comparison (which also
      // drops padding >= n_post).
      const uint32_t width = static_cast<uint32_t>(Hi(p.post)) - lo;
      if (p.kind == kCsr) {
        const int32_t* __restrict ip = p.indptr;
        for (int32_t i : rows) __builtin_prefetch(ip + i);
        brainsim_events::ScatterRows(
            rows, [ip](int32_t i) { return static_cast<int64_t>(ip[i]); },
            [ip](int32_t i) { return static_cast<int64_t>(ip[i + 1]) - ip[i]; }, p.indices,
            p.weights, p.homogeneous, sp, d, lo, width);
      } else if (p.kind == kEll) {
        const int64_t row_width = p.row_width;
        brainsim_events::ScatterRows(
            rows, [row_width](int32_t i) { return i * row_width; },
            [row_width](int32_t) { return row_width; }, p.indices, p.weights, p.homogeneous, sp,
            d, lo, width);
      } else {  // procedural: every thread's hashed rows, in row order
        const float* w = p.weights;
        for (int64_t th = 0; th < run_.n_threads; ++th) {
          const int32_t* targets = run_.hashed[th][k].data();
          for (int64_t r = run_.ShareOf(rows, th); r < run_.ShareOf(rows, th + 1); ++r) {
            const int32_t i = rows[r];
            const int64_t count = p.Count(i);
            const float sw = sp[i] * w[0];
            for (int64_t c = 0; c < count; ++c) {
              const uint32_t j = static_cast<uint32_t>(targets[c]);
              if (j - lo < width) d[j] += sw;
            }
            targets += count;
          }
        }
      }
    }
  }

  // I0 and G of the populations that do not assemble them inside their neuron loop: one
  // synapse pass per projection (g <- g + d, I0 and G, then g <- g decay).
  void AssembleInputs() {
    for (int64_t q = 0; q < run_.n_pops; ++q) {
      if (!run_.cleared_each_step[q] || run_.inline_in[q]) continue;
      const int64_t a = run_.pops[q].offset + Lo(q), b = run_.pops[q].offset + Hi(q);
      std::fill(run_.i0.begin() + a, run_.i0.begin() + b, 0.0f);
      std::fill(run_.gsum.begin() + a, run_.gsum.begin() + b, 0.0f);
    }
    for (int64_t k = 0; k < run_.n_proj; ++k) {
      if (run_.inline_proj[k]) continue;
      const Projection& p = run_.projs[k];
      const Population& post = run_.pops[p.post];
      const int64_t lo = Lo(p.post);
      const bool scalar_decay = p.decay_length == 1;
      const SynapseFn pass = !p.coba           ? run_.kern.cuba
                             : run_.first_coba[k] ? run_.kern.coba_first
                                                  : run_.kern.coba;
      const float* pf = run_.proj_floats + p.float_offset;
      pass(Hi(p.post) - lo, run_.g + p.g_offset + lo, run_.delivered.data() + p.g_offset + lo,
           run_.i0.data() + post.offset + lo, run_.gsum.data() + post.offset + lo, pf[0],
           pf + 1 + (scalar_decay ? 0 : lo), scalar_decay);
    }
  }

  // Population q's neurons of this thread, step s: LIF update, reset, spike flags into `flags`
  // (one byte per neuron of the slice); the spike count and the NaN/Inf flag are recorded.
  int64_t AdvanceNeurons(int64_t q, int64_t s, uint8_t* flags) {
    const Population& pop = run_.pops[q];
    const int64_t lo = Lo(q), width = Hi(q) - lo;
    const float* par = run_.params + pop.param_offset + (pop.param_length > 1 ? lo : 0);
    bool bad = false;
    const int64_t fired = run_.update[q](
        width, run_.v + pop.offset + lo, run_.ref + pop.offset + lo,
        run_.i0.data() + pop.offset + lo, run_.gsum.data() + pop.offset + lo, my_in_[q].data(),
        par, pop.param_length, run_.dt, flags, &bad);
    const size_t at = static_cast<size_t>((tid_ * run_.n_steps + s) * run_.n_pops + q);
    run_.thread_counts[at] = static_cast<int32_t>(fired);
    run_.thread_bad[at] = bad ? 1 : 0;
    return fired;
  }

  // History slot t mod L of this thread's slice of population q: clear the spikes of step
  // t - L (the slot's list), set this step's (from the flags), keep them as the slot's list.
  void WriteHistory(int64_t q, int64_t t, const uint8_t* flags, int64_t fired) {
    const Population& pop = run_.pops[q];
    const int64_t lo = Lo(q), width = Hi(q) - lo;
    const int64_t slot = t % pop.history_length;
    float* row = pop.HistoryRow(run_.hist, slot);
    std::vector<int32_t>& list = run_.spike_lists[tid_ * run_.n_pops + q][slot];
    for (int32_t i : list) row[i] = 0.0f;
    list.clear();
    if (fired > 0) {
      brainsim_events::ForEachActive(flags, width, [&list, lo](int64_t i, uint8_t) {
        list.push_back(static_cast<int32_t>(lo + i));
      });
    }
    for (int32_t i : list) row[i] = 1.0f;
  }

  // This step's spikes of this thread's slice of population q (no history to keep them in).
  void ListFired(int64_t q, const uint8_t* flags, int64_t fired) {
    std::vector<int32_t>& list = run_.fired[tid_ * run_.n_pops + q];
    list.clear();
    if (fired == 0) return;
    const int64_t lo = Lo(q);
    brainsim_events::ForEachActive(flags, Hi(q) - lo, [&list, lo](int64_t i, uint8_t) {
      list.push_back(static_cast<int32_t>(lo + i));
    });
  }

  // Pair STDP of every plastic projection over step t (thread 0, every thread waiting): the
  // rows that arrived (ReadHistory) and the postsynaptic spikes of all threads, in order.
  void Plasticity(int64_t t) {
    for (int64_t k = 0; k < run_.n_proj; ++k) {
      const Projection& p = run_.projs[k];
      if (p.plasticity == kFixed) continue;
      const Population& post = run_.pops[p.post];
      post_spikes_.clear();
      for (int64_t th = 0; th < run_.n_threads; ++th) {
        const std::vector<int32_t>& part =
            post.history_length > 0
                ? run_.spike_lists[th * run_.n_pops + p.post][t % post.history_length]
                : run_.fired[th * run_.n_pops + p.post];
        post_spikes_.insert(post_spikes_.end(), part.begin(), part.end());
      }
      PairStdpStep(p.stdp, active_[p.share], post_spikes_, run_.kern.fma, &stdp_scratch_);
    }
  }

  NetworkRun& run_;
  const int64_t tid_;
  std::vector<std::vector<int32_t>> active_;  // per projection (at its share): active rows
  std::vector<std::vector<InSyn>> my_in_;     // per population: in_syn at this thread's slice
  std::vector<uint8_t> flag_scratch_;
  std::vector<int32_t> post_spikes_;  // Plasticity's scratch
  PairStdpScratch stdp_scratch_;
};

}  // namespace brainsim_network

#endif  // BRAINSIM_OPS_NATIVE_NETWORK_STEP_H_
