//===- KernelRegistryTest.cpp - elementwise kernels by name ---------------===//

#include "kb/Runtime/Kernels.h"

#include "gtest/gtest.h"

#include <vector>

using namespace kb::runtime;

namespace {

TEST(KernelRegistryTest, TheDeviceOpsKernelsAreFoundByName) {
  // The names gemm_tile.gelu and gemm_tile.add give in GemmTileOps.td.
  EXPECT_EQ(lookupMapKernel("gelu"), &geluTanh);
  EXPECT_EQ(lookupZipKernel("add"), &addInPlace);
  std::vector<float> dst = {1, 2, 3}, src = {10, 20, 30};
  lookupZipKernel("add")(dst.data(), src.data(), dst.size());
  EXPECT_EQ(dst, (std::vector<float>{11, 22, 33}));
}

TEST(KernelRegistryTest, AnUnknownNameHasNoKernel) {
  EXPECT_EQ(lookupMapKernel("add"), nullptr);
  EXPECT_EQ(lookupZipKernel("gelu"), nullptr);
  EXPECT_EQ(lookupMapKernel(""), nullptr);
  EXPECT_EQ(lookupZipKernel("no_such_kernel"), nullptr);
}

} // namespace
