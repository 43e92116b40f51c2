#include "cpu/profile.h"

#include <atomic>
#include <ctime>

namespace rwkv {
namespace {

constexpr int kStages = int(Stage::Count);
std::atomic<bool> g_on{false};
std::atomic<long long> g_wall_ns[kStages], g_cpu_ns[kStages];

// This thread's open region: the stage the clock runs for (-1: none) and when it last moved.
thread_local int t_stage = -1;
thread_local long long t_wall = 0, t_cpu = 0;

long long now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Charges the time since the last mark to the running stage and makes `next` the running one.
void switch_to(int next) {
  const long long w = now_ns(CLOCK_MONOTONIC), c = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  if (t_stage >= 0) {
    g_wall_ns[t_stage].fetch_add(w - t_wall, std::memory_order_relaxed);
    g_cpu_ns[t_stage].fetch_add(c - t_cpu, std::memory_order_relaxed);
  }
  t_stage = next;
  t_wall = w;
  t_cpu = c;
}

}  // namespace

const char* stage_name(Stage s) {
  static const char* names[kStages] = {"other", "gemm", "wkv", "norm", "head", "adam"};
  return names[int(s)];
}

void set_profiling(bool on) { g_on.store(on, std::memory_order_relaxed); }

void stage_times(StageTime out[kStages], bool reset) {
  for (int i = 0; i < kStages; ++i) {
    const long long w = reset ? g_wall_ns[i].exchange(0) : g_wall_ns[i].load();
    const long long c = reset ? g_cpu_ns[i].exchange(0) : g_cpu_ns[i].load();
    out[i] = {w * 1e-9, c * 1e-9};
  }
}

ProfileScope::ProfileScope(Stage s, bool root) {
  if (!g_on.load(std::memory_order_relaxed) || (t_stage < 0 && !root)) return;
  root_ = t_stage < 0;  // a region inside a region (Adam inside a step) is a plain stage
  prev_ = t_stage;
  switch_to(int(s));
}

ProfileScope::~ProfileScope() {
  if (prev_ < 0 && !root_) return;
  switch_to(root_ ? -1 : prev_);
}

}  // namespace rwkv
