//===- HugePageMalloc.cpp - back kb-run's heap with huge pages ------------===//

#include "HugePageMalloc.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KB_MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define KB_MALLOC_REPLACED 1
#endif
#endif

#if defined(__linux__) && defined(__GLIBC__) && !defined(KB_MALLOC_REPLACED)
namespace {
/// Whether the kernel gives transparent huge pages to memory that asks for
/// them (mode `madvise`). Read with plain system calls: this runs before
/// the C++ library's static objects are made (reexecEarly).
bool hugePagesOnRequest() {
  int fd = ::open("/sys/kernel/mm/transparent_hugepage/enabled",
                  O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char modes[128] = {};
  ssize_t n = ::read(fd, modes, sizeof(modes) - 1);
  ::close(fd);
  return n > 0 && std::strstr(modes, "[madvise]") != nullptr;
}
} // namespace
#endif

void kb::reexecWithHugePageMalloc(char **argv) {
#if defined(__linux__) && defined(__GLIBC__) && !defined(KB_MALLOC_REPLACED)
  if (const char *choice = std::getenv("KB_RUN_HUGE_PAGES");
      choice && std::strcmp(choice, "0") == 0)
    return;
  const char *tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.hugetlb"))
    return;
  if (!hugePagesOnRequest())
    return;
  std::string before = tunables ? tunables : "";
  std::string with = before.empty() ? "glibc.malloc.hugetlb=1"
                                    : before + ":glibc.malloc.hugetlb=1";
  if (::setenv("GLIBC_TUNABLES", with.c_str(), 1) != 0)
    return;
  ::execv("/proc/self/exe", argv);
  // Not executed: go on as we are.
  if (tunables)
    ::setenv("GLIBC_TUNABLES", before.c_str(), 1);
  else
    ::unsetenv("GLIBC_TUNABLES");
#else
  (void)argv;
#endif
}

#if defined(__linux__) && defined(__GLIBC__)
namespace {
/// Runs the re-execution before the static objects of LLVM, MLIR and kb
/// (command-line options, dialect and pass registries: a few milliseconds
/// of a small run) are made only to be dropped by the exec. glibc passes
/// the program's arguments to the functions of .init_array.
__attribute__((constructor(101))) void reexecEarly(int, char **argv, char **) {
  kb::reexecWithHugePageMalloc(argv);
}
} // namespace
#endif
