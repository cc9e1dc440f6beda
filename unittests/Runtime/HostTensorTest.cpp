//===- HostTensorTest.cpp - tensor storage --------------------------------===//

#include "kb/Runtime/HostTensor.h"

#include "gtest/gtest.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <optional>
#include <string>

using namespace kb::runtime;

namespace {

// Sizes on both sides of the 2 MiB line where storage switches from malloc to
// huge-page mappings, including lengths that end inside a page.
TEST(HostTensorTest, StorageOfEverySizeIsZeroedWritableAndCopyable) {
  for (int64_t elements :
       {int64_t{0}, int64_t{1}, int64_t{1000}, (int64_t{2} << 20) / 4 - 1,
        (int64_t{2} << 20) / 4, (int64_t{5} << 20) / 4 + 3}) {
    HostTensor t = makeTensor(DType::F32, {elements});
    ASSERT_EQ(static_cast<int64_t>(t.data.size()), elements);
    for (float v : t.data)
      ASSERT_EQ(v, 0.0f);
    std::iota(t.data.begin(), t.data.end(), 0.0f);
    HostTensor copy = t;
    EXPECT_EQ(copy.data, t.data) << elements << " elements";
    HostTensor moved = std::move(copy);
    EXPECT_EQ(moved.data, t.data);
    // Growing past the line moves the data into the other kind of storage.
    t.data.resize(t.data.size() * 2 + 1, -1.0f);
    if (elements) {
      EXPECT_EQ(t.data[elements - 1], static_cast<float>(elements - 1));
    }
    EXPECT_EQ(t.data.back(), -1.0f);
  }
}

#if !defined(__SANITIZE_ADDRESS__)
TEST(HostTensorTest, LargeTensorsStartOnAHugePageBoundary) {
  HostTensor t = makeTensor(DType::F32, {3, int64_t{1} << 18}); // 3 MiB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data.data()) % (uintptr_t{2} << 20),
            0u);
}

/// Whether the mapping that holds `p` is advised as huge pages ("hg" among
/// its VmFlags in /proc/self/smaps); std::nullopt where smaps does not say.
std::optional<bool> advisedHuge(const void *p) {
  std::ifstream smaps("/proc/self/smaps");
  auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &begin, &end) ==
            2 &&
        line.find(' ') != std::string::npos &&
        line.find('-') < line.find(' ')) {
      inside = begin <= at && at < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0)
      return line.find(" hg") != std::string::npos;
  }
  return std::nullopt;
}

// The executor's cube buffers, made during a run, take small pages: a
// huge-page fault on advised memory may compact memory first.
TEST(HostTensorTest, TransientTensorsAreNotAdvisedAsHugePages) {
  HostTensor kept = makeTensor(DType::F32, {int64_t{1} << 20}); // 4 MiB
  std::optional<bool> keptHuge = advisedHuge(kept.data.data());
  if (!keptHuge || !*keptHuge)
    GTEST_SKIP() << "this kernel has no transparent huge pages to advise";
  HostTensor transient;
  {
    TransientTensorScope scope;
    transient = makeTensor(DType::F32, {int64_t{1} << 20});
  }
  EXPECT_EQ(advisedHuge(transient.data.data()), std::optional<bool>(false));
  // Outside the scope again, advised.
  HostTensor later = makeTensor(DType::F32, {int64_t{1} << 20});
  EXPECT_EQ(advisedHuge(later.data.data()), std::optional<bool>(true));
}
#endif

} // namespace
