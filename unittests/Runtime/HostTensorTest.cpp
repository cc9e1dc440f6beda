//===- HostTensorTest.cpp - tensor storage --------------------------------===//

#include "kb/Runtime/HostTensor.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <numeric>

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
#endif

} // namespace
