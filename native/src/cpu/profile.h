// Busy time per stage of the CPU backend (GEMMs, WKV, norms, head/loss, Adam, the rest), for the
// bench: off by default (one relaxed load per scope), switched on by the addon's setProfiling.
// A Region opens at a driver's entry (forward, training chunk, Adam) on the calling thread; Stage
// scopes inside it hand the clock to their stage until they close, so each stage gets its
// exclusive time and the stages of a region add up to its total ("other": everything no stage
// claims: elementwise passes, token shift, LoRA activations, copies). Scopes on threads without an
// open region (pool workers) do nothing. Wall time and process CPU time (all threads, spin-waits
// of idle workers included) are both kept.
#pragma once

namespace rwkv {

enum class Stage : int { Other = 0, Gemm, Wkv, Norm, Head, Adam, Count };
const char* stage_name(Stage s);

struct StageTime { double wall_s = 0, cpu_s = 0; };
void set_profiling(bool on);
// The totals since the last reset, per stage; reset zeroes them.
void stage_times(StageTime out[int(Stage::Count)], bool reset);

class ProfileScope {
 public:
  // root: opens a region (at driver entries); otherwise counts only inside an open region.
  ProfileScope(Stage s, bool root);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  int prev_ = -1;  // the stage the clock returns to; -1: this scope does nothing
  bool root_ = false;
};

}  // namespace rwkv

#define RWKV_STAGE(s) ::rwkv::ProfileScope rwkv_stage_scope_(::rwkv::Stage::s, false)
#define RWKV_REGION(s) ::rwkv::ProfileScope rwkv_stage_scope_(::rwkv::Stage::s, true)
