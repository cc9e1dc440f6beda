//===- KernelRegistryTest.cpp - elementwise kernels by name ---------------===//

#include "kb/Runtime/Kernels.h"
#include "kb/Runtime/TransformerKernels.h"

#include "gtest/gtest.h"

#include <vector>

using namespace kb::runtime;

namespace {

TEST(KernelRegistryTest, TheDeviceOpsKernelsAreFoundByName) {
  // The names kb.gelu and kb.add lower to (gemm_tile.map "gelu", gemm_tile.zip "add").
  EXPECT_EQ(lookupMapKernel("gelu"), &geluTanh);
  EXPECT_EQ(lookupZipKernel("add"), &addInPlace);
  std::vector<float> dst = {1, 2, 3}, src = {10, 20, 30};
  lookupZipKernel("add")(dst.data(), src.data(), dst.size());
  EXPECT_EQ(dst, (std::vector<float>{11, 22, 33}));
}

TEST(KernelRegistryTest, EveryListedNameHasItsKernel) {
  // The lists the gemm_tile verifier quotes name exactly the kernels found.
  llvm::SmallVector<llvm::StringRef> maps = mapKernelNames();
  EXPECT_EQ(std::vector<llvm::StringRef>(maps.begin(), maps.end()),
            (std::vector<llvm::StringRef>{"gelu", "silu", "scale"}));
  for (llvm::StringRef name : mapKernelNames())
    EXPECT_NE(lookupMapKernel(name), nullptr) << name.str();
  for (llvm::StringRef name : zipKernelNames())
    EXPECT_NE(lookupZipKernel(name), nullptr) << name.str();
  EXPECT_EQ(zipKernelNames().size(), 2u);
  // kb.scale's kernel copies; gemm_tile.map applies the factor.
  std::vector<float> in = {1.5f, -2.0f}, out(2);
  lookupMapKernel("scale")(in.data(), out.data(), in.size());
  EXPECT_EQ(out, in);
}

TEST(KernelRegistryTest, AnUnknownNameHasNoKernel) {
  EXPECT_EQ(lookupMapKernel("add"), nullptr);
  EXPECT_EQ(lookupZipKernel("gelu"), nullptr);
  EXPECT_EQ(lookupMapKernel(""), nullptr);
  EXPECT_EQ(lookupZipKernel("no_such_kernel"), nullptr);
}

TEST(KernelRegistryTest, RowKernelsComputeWhatTheirKernelsDo) {
  // The names and numbers gemm_tile.rms_norm, layer_norm and rope give their
  // host kernels (GemmTileRowOps.cpp).
  const RowKernelInfo *rms = lookupRowKernel("rms_norm");
  const RowKernelInfo *layer = lookupRowKernel("layer_norm");
  const RowKernelInfo *rot = lookupRowKernel("rope");
  ASSERT_TRUE(rms && layer && rot);
  EXPECT_EQ(rms->vectors, 1u);
  EXPECT_EQ(rms->params, 1u);
  EXPECT_EQ(layer->vectors, 2u);
  EXPECT_EQ(layer->params, 1u);
  EXPECT_EQ(rot->vectors, 0u);
  EXPECT_EQ(rot->params, 3u);

  // 3 rows of 2 heads of 4.
  std::vector<float> x(24), w(8), b(8);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = 1.0f + 0.125f * static_cast<float>(i);
    b[i] = 0.0625f * static_cast<float>(i);
  }
  std::vector<float> got(24), want(24);
  std::vector<const float *> weight = {w.data()},
                             weightAndBias = {w.data(), b.data()};

  rms->kernel(DType::F16, x.data(), weight, got.data(), 3, 8, {1e-5});
  rmsNorm(DType::F16, x.data(), w.data(), want.data(), 3, 8, 1e-5f);
  EXPECT_EQ(got, want);

  layer->kernel(DType::BF16, x.data(), weightAndBias, got.data(), 3, 8, {1e-3});
  layerNorm(DType::BF16, x.data(), w.data(), b.data(), want.data(), 3, 8,
            1e-3f);
  EXPECT_EQ(got, want);

  // head_dim 4, the first row at position 5, theta 500000.
  rot->kernel(DType::F32, x.data(), {}, got.data(), 3, 8, {4, 5, 500000.0});
  rope(DType::F32, x.data(), want.data(), 3, 2, 4, 5, 500000.0);
  EXPECT_EQ(got, want);
  // The position matters: a slab's rows are not all at position 0.
  rope(DType::F32, x.data(), want.data(), 3, 2, 4, 0, 500000.0);
  EXPECT_NE(got, want);
}

TEST(KernelRegistryTest, AnUnknownRowKernelIsNull) {
  EXPECT_EQ(lookupRowKernel("gelu"), nullptr);
  EXPECT_EQ(lookupRowKernel("attention"), nullptr);
}

} // namespace
