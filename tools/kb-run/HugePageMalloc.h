//===- HugePageMalloc.h - back kb-run's heap with huge pages ----*- C++ -*-===//
//
// kb-run's large host structures are malloc'd: the flattened program's
// operations, the timeline (an event per device op and SIP) and the
// simulator's tables. A whole model's estimate (GPT-3 175B: millions of ops)
// spent a sixth of its time on TLB misses and page faults over them. glibc's
// malloc asks the kernel for transparent huge pages only when the
// GLIBC_TUNABLES environment variable says so (glibc.malloc.hugetlb=1),
// and reads it when the process starts; so kb-run sets it and executes itself
// again, once, before doing anything else: from a constructor of
// HugePageMalloc.cpp that runs before the static objects of LLVM and MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUN_HUGEPAGEMALLOC_H
#define KB_RUN_HUGEPAGEMALLOC_H

namespace kb {

/// Executes this program again with glibc's malloc on transparent huge pages
/// where that changes anything: a glibc build without sanitizers, the
/// kernel's huge pages in `madvise` mode (with `always` the heap has them
/// already, with `never` they cannot be had), GLIBC_TUNABLES not naming
/// glibc.malloc.hugetlb (so it happens once, and a user's own choice stands)
/// and KB_RUN_HUGE_PAGES not 0. Returns when it does not (or the exec
/// fails), the environment as it was.
void reexecWithHugePageMalloc(char **argv);

} // namespace kb

#endif // KB_RUN_HUGEPAGEMALLOC_H
