//===- HugePageMalloc.cpp - back kb-run's heap with huge pages ------------===//

#include "HugePageMalloc.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KB_MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define KB_MALLOC_REPLACED 1
#endif
#endif

void kb::reexecWithHugePageMalloc(char **argv) {
#if defined(__linux__) && defined(__GLIBC__) && !defined(KB_MALLOC_REPLACED)
  if (const char *choice = std::getenv("KB_RUN_HUGE_PAGES");
      choice && std::strcmp(choice, "0") == 0)
    return;
  const char *tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.hugetlb"))
    return;
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  if (!std::getline(mode, modes) ||
      modes.find("[madvise]") == std::string::npos)
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
