// mmapFile(path): a whole file mapped into memory as an external ArrayBuffer, so checkpoint
// readers can hand tensors to the runtime without copying them (a 3 GB checkpoint costs page
// cache, not 3 GB more of heap). Unmapped when the ArrayBuffer is collected.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "napi/registry.h"
#include "napi/args.h"

namespace rwkv::napi {
namespace {

Napi::Value MmapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = string_arg(info[0], "mmapFile(path): path");
  auto fail = [&](const char* what) {
    return Napi::Error::New(env, "mmapFile: cannot " + std::string(what) + " " + path + ": " + std::strerror(errno));
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail("open");
  struct stat st;
  if (fstat(fd, &st) != 0) { Napi::Error e = fail("stat"); close(fd); throw e; }
  if (!S_ISREG(st.st_mode)) { close(fd); throw Napi::Error::New(env, "mmapFile: " + path + " is not a regular file"); }
  const size_t len = size_t(st.st_size);
  if (len == 0) { close(fd); return Napi::ArrayBuffer::New(env, 0); }  // mmap cannot map 0 bytes
  // Private and writable: JavaScript may write into the buffer without crashing the process or
  // changing the file; pages only read stay shared with the page cache.
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) { Napi::Error e = fail("map"); close(fd); throw e; }
  close(fd);  // the mapping keeps the file alive
  return Napi::ArrayBuffer::New(env, p, len, [](Napi::Env, void* data, size_t* n) { munmap(data, *n); delete n; },
                                new size_t(len));
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("mmapFile", Napi::Function::New(env, MmapFile, "mmapFile"));
}

}  // namespace
RWKV_NAPI_REGISTER(Register);
}  // namespace rwkv::napi
