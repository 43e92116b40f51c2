#include "cpu/threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace rwkv {
namespace {

// True on a thread that is running part of a parallel region: nested regions run serially.
thread_local bool in_parallel_ = false;

// RNN mode issues a parallel region every few tens of microseconds; a futex wake-up per region
// would cost about as much as the work. Threads therefore spin this long before they sleep.
constexpr auto kSpin = std::chrono::microseconds(200);

// Marks this thread as running part of a region for a scope (exceptions included).
struct InParallel {
  InParallel() { in_parallel_ = true; }
  ~InParallel() { in_parallel_ = false; }
  InParallel(const InParallel&) = delete;
  InParallel& operator=(const InParallel&) = delete;
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until pred() holds or the spin budget is spent; returns pred(). After the first few
// microseconds each round also yields: on a busy machine the thread we wait for may be queued
// behind us on this very core.
template <typename Pred>
bool spin_until(Pred pred) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    const auto spent = std::chrono::steady_clock::now() - start;
    if (spent >= kSpin) return pred();
    if (spent >= kSpin / 8) std::this_thread::yield();
  }
}

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return int(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    stopping_ = false;
    const long now = generation_.load();  // new workers must not take an old region for a new one
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, now] { loop(i, now); });
  }

  void run(long n, const std::function<void(long, long)>& fn, long grain) {
    const long chunks = std::min<long>(size(), (n + grain - 1) / grain);
    if (chunks <= 1) {
      // Still a region: a region nested in it runs serially too. (Without the mark it would wait for
      // pool_mu, held by this very call: RWKV-7's RNN step, a region over heads with a WKV region
      // inside, hung with one thread.)
      const InParallel mark;
      if (n > 0) fn(0, n);
      return;
    }
    fn_ = &fn; n_ = n; chunks_ = chunks; error_ = nullptr;
    // Every worker checks in, even one without a chunk: then none can still be reading fn_ and
    // chunks_ when the next region overwrites them.
    pending_.store(size() - 1);
    generation_.fetch_add(1);  // publishes fn_, n_, chunks_ to the workers
    // A worker registers as a sleeper before its last look at generation_ (both seq_cst), so
    // either it sees the new generation or we see it asleep and wake it.
    if (sleepers_.load() > 0) { std::lock_guard<std::mutex> lk(mu_); cv_.notify_all(); }
    std::exception_ptr mine;
    {
      const InParallel mark;
      try { fn(0, n / chunks); } catch (...) { mine = std::current_exception(); }  // chunk 0 is ours
    }
    if (!spin_until([this] { return pending_.load() == 0; })) {
      std::unique_lock<std::mutex> lk(mu_);
      caller_waiting_.store(true);
      done_cv_.wait(lk, [this] { return pending_.load() == 0; });
      caller_waiting_.store(false);
    }
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void loop(int id, long seen) {
    for (;;) {
      if (!spin_until([&] { return generation_.load() != seen || stopping_.load(); })) {
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1);
        cv_.wait(lk, [&] { return stopping_.load() || generation_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      if (stopping_.load()) return;
      seen = generation_.load();
      const long chunks = chunks_;
      if (id < chunks) {
        const InParallel mark;
        try { (*fn_)(n_ * id / chunks, n_ * (id + 1) / chunks); }
        catch (...) { std::lock_guard<std::mutex> lk(mu_); if (!error_) error_ = std::current_exception(); }
      }
      if (pending_.fetch_sub(1) == 1 && caller_waiting_.load()) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_one();
      }
    }
  }

  void stop() {
    { std::lock_guard<std::mutex> lk(mu_); stopping_.store(true); }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  // Written by the caller before generation_ is bumped; read by workers after they see it.
  const std::function<void(long, long)>* fn_ = nullptr;
  long n_ = 0, chunks_ = 0;
  std::exception_ptr error_;  // first exception thrown by a worker's chunk, rethrown by run()
  std::atomic<long> generation_{0};
  std::atomic<int> pending_{0}, sleepers_{0};
  std::atomic<bool> stopping_{false}, caller_waiting_{false};
};

int default_threads() {
  if (const char* e = std::getenv("RWKV_THREADS")) { int n = std::atoi(e); if (n > 0) return n; }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? int(hc) : 1;
}

std::mutex pool_mu;
Pool& pool() { static Pool p(default_threads()); return p; }

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { std::lock_guard<std::mutex> lk(pool_mu); pool().resize(n < 1 ? 1 : n); }

void parallel_for(long n, const std::function<void(long, long)>& fn, long grain) {
  if (in_parallel_) { if (n > 0) fn(0, n); return; }
  std::lock_guard<std::mutex> lk(pool_mu);  // one parallel region at a time
  pool().run(n, fn, grain < 1 ? 1 : grain);
}

}  // namespace rwkv
