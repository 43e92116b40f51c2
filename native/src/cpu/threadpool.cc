#include "cpu/threadpool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace rwkv {
namespace {

// True on a thread that is running part of a parallel region: nested regions run serially.
thread_local bool in_parallel_ = false;

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return int(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    stopping_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { loop(i); });
  }

  void run(long n, const std::function<void(long, long)>& fn, long grain) {
    const int nt = size();
    long chunks = std::min<long>(nt, (n + grain - 1) / grain);
    if (chunks <= 1 || in_parallel_) { if (n > 0) fn(0, n); return; }
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn; n_ = n; chunks_ = chunks; pending_ = int(chunks) - 1; ++generation_;
    }
    cv_.notify_all();
    in_parallel_ = true;
    fn(0, n / chunks);  // the calling thread takes chunk 0
    in_parallel_ = false;
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [this] { return pending_ == 0; });
  }

 private:
  void loop(int id) {
    long seen = 0;
    for (;;) {
      const std::function<void(long, long)>* fn;
      long n, chunks;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        fn = fn_; n = n_; chunks = chunks_;
      }
      if (id < chunks) {
        in_parallel_ = true;
        (*fn)(n * id / chunks, n * (id + 1) / chunks);
        in_parallel_ = false;
        std::lock_guard<std::mutex> lk(mu_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  void stop() {
    { std::lock_guard<std::mutex> lk(mu_); stopping_ = true; }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(long, long)>* fn_ = nullptr;
  long n_ = 0, chunks_ = 0, generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
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
