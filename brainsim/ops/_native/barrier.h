// A reusable barrier for the fused network kernel's threads (network_kernels.cc): a step lasts
// microseconds, so it spins briefly, then yields, so an oversubscribed machine still makes
// progress. With one thread, Wait() returns at once.
#ifndef BRAINSIM_OPS_NATIVE_BARRIER_H_
#define BRAINSIM_OPS_NATIVE_BARRIER_H_

#include <atomic>
#include <cstdint>
#include <thread>

namespace brainsim_network {

class SpinBarrier {
 public:
  explicit SpinBarrier(int64_t n) : n_(n) {}
  // Returns once all n threads have called Wait() (for this generation); orders every write
  // before it (acquire/release) before every read after it, in all threads.
  void Wait() {
    if (n_ == 1) return;
    const int64_t generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins) {
      if (spins > 4096) std::this_thread::yield();
    }
  }

 private:
  const int64_t n_;
  std::atomic<int64_t> arrived_{0};
  std::atomic<int64_t> generation_{0};
};

}  // namespace brainsim_network

#endif  // BRAINSIM_OPS_NATIVE_BARRIER_H_
