//===- KBInterpreterTest.cpp - decoder-layer ops in the global view -------===//
//
// runKBProgram is what `kb-run --check` runs for the unsharded program. These
// tests run a global-view program of the decoder-layer ops through it and
// compare every result with a double-precision reference written here.
//
//===----------------------------------------------------------------------===//

#include "kb/Executor/Execute.h"
#include "kb/InitAllDialects.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace kb;
using namespace kb::exec;
using runtime::DType;
using runtime::HostTensor;

namespace {

class KBInterpreterTest : public ::testing::TestWithParam<DType> {
protected:
  KBInterpreterTest() {
    mlir::DialectRegistry registry;
    kb::registerAllDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
  }

  mlir::MLIRContext ctx;
};

/// x [3,16] as 4 heads of 4; a cache of 4 rows and 3 new rows of 2 KV heads.
std::string program(llvm::StringRef dtype) {
  std::string t = dtype.str();
  auto ty = [&](const std::string &shape) {
    return "tensor<" + shape + "x" + t + ">";
  };
  return "module attributes {kb.world_size = 1 : i64} {\n"
         "  func.func @layer(%x: " +
         ty("3x16") + ", %w: " + ty("16") + ", %b: " + ty("16") +
         ", %kc: " + ty("4x8") + ", %kn: " + ty("3x8") + ") -> (" + ty("3x16") +
         ", " + ty("3x16") + ", " + ty("3x16") + ", " + ty("7x8") + ", " +
         ty("3x16") + ") {\n" + "    %0 = kb.rms_norm %x, %w : " + ty("3x16") +
         ", " + ty("16") +
         "\n    %1 = kb.layer_norm %x, %w, %b {eps = 1.0e-03 : f32} : " +
         ty("3x16") + ", " + ty("16") + ", " + ty("16") +
         "\n    %2 = kb.rope %x head_dim 4 offset 2 {theta = 100.0 : f64} : " +
         ty("3x16") + "\n    %3 = kb.kv_append %kc, %kn : " + ty("4x8") + ", " +
         ty("3x8") + " -> " + ty("7x8") +
         "\n    %4 = kb.attention %x, %3, %3 heads 4 kv_heads 2 : (" +
         ty("3x16") + ", " + ty("7x8") + ", " + ty("7x8") + ") -> " +
         ty("3x16") + "\n    return %0, %1, %2, %3, %4 : " + ty("3x16") + ", " +
         ty("3x16") + ", " + ty("3x16") + ", " + ty("7x8") + ", " + ty("3x16") +
         "\n  }\n}\n";
}

std::vector<double> rmsNorm(const HostTensor &x, const HostTensor &w) {
  std::vector<double> y(x.data.size());
  for (int64_t r = 0; r < 3; ++r) {
    double squares = 0;
    for (int64_t c = 0; c < 16; ++c)
      squares += double(x.data[r * 16 + c]) * x.data[r * 16 + c];
    for (int64_t c = 0; c < 16; ++c)
      y[r * 16 + c] =
          x.data[r * 16 + c] / std::sqrt(squares / 16 + 1e-5) * w.data[c];
  }
  return y;
}

std::vector<double> layerNorm(const HostTensor &x, const HostTensor &w,
                              const HostTensor &b) {
  std::vector<double> y(x.data.size());
  for (int64_t r = 0; r < 3; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < 16; ++c)
      mean += x.data[r * 16 + c] / 16.0;
    for (int64_t c = 0; c < 16; ++c)
      var += (x.data[r * 16 + c] - mean) * (x.data[r * 16 + c] - mean) / 16.0;
    for (int64_t c = 0; c < 16; ++c)
      y[r * 16 + c] = (x.data[r * 16 + c] - mean) /
                          std::sqrt(var + double(1.0e-3f)) * w.data[c] +
                      b.data[c];
  }
  return y;
}

/// Heads of 4 at positions 2, 3, 4 with theta 100: pairs (i, i + 2) rotate
/// by position · 100^(−i/2).
std::vector<double> rope(const HostTensor &x) {
  std::vector<double> y(x.data.size());
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t i = 0; i < 2; ++i) {
        double angle = (2 + r) * std::pow(100.0, -i / 2.0);
        double a = x.data[r * 16 + h * 4 + i],
               b = x.data[r * 16 + h * 4 + i + 2];
        y[r * 16 + h * 4 + i] = a * std::cos(angle) - b * std::sin(angle);
        y[r * 16 + h * 4 + i + 2] = b * std::cos(angle) + a * std::sin(angle);
      }
  return y;
}

/// Query r (position 4 + r) of head h against KV head h / 2 of kv [7, 8].
std::vector<double> attention(const HostTensor &x,
                              const std::vector<double> &kv) {
  std::vector<double> y(x.data.size());
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t r = 0; r < 3; ++r) {
      int64_t g = h / 2, visible = 4 + r + 1;
      std::vector<double> p(visible);
      for (int64_t t = 0; t < visible; ++t) {
        for (int64_t d = 0; d < 4; ++d)
          p[t] += x.data[r * 16 + h * 4 + d] * kv[t * 8 + g * 4 + d];
        p[t] /= 2.0; // sqrt(head_dim)
      }
      double m = *std::max_element(p.begin(), p.end()), total = 0;
      for (double &v : p)
        total += (v = std::exp(v - m));
      for (int64_t d = 0; d < 4; ++d)
        for (int64_t t = 0; t < visible; ++t)
          y[r * 16 + h * 4 + d] += p[t] / total * kv[t * 8 + g * 4 + d];
    }
  return y;
}

void expectClose(const HostTensor &got, const std::vector<double> &expected,
                 DType dtype, const char *what) {
  ASSERT_EQ(got.data.size(), expected.size()) << what;
  double ulp = dtype == DType::F32 ? 1e-6 : dtype == DType::F16 ? 1e-3 : 8e-3;
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(got.data[i], expected[i], ulp * (1 + std::fabs(expected[i])))
        << what << " element " << i;
}

TEST_P(KBInterpreterTest, RunsTheDecoderLayerOpsInTheGlobalView) {
  DType dtype = GetParam();
  std::string text = program(runtime::dtypeName(dtype));
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  ASSERT_TRUE(module) << text;
  llvm::Expected<Program> program = analyzeProgram(*module, "");
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  ASSERT_EQ(program->view, View::Global);
  std::vector<HostTensor> inputs = {runtime::randomTensor(dtype, {3, 16}, 1),
                                    runtime::randomTensor(dtype, {16}, 2),
                                    runtime::randomTensor(dtype, {16}, 3),
                                    runtime::randomTensor(dtype, {4, 8}, 4),
                                    runtime::randomTensor(dtype, {3, 8}, 5)};
  llvm::Expected<llvm::SmallVector<HostTensor>> results =
      runKBProgram(*program, inputs);
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  ASSERT_EQ(results->size(), 5u);
  const HostTensor &x = inputs[0];
  expectClose((*results)[0], rmsNorm(x, inputs[1]), dtype, "rms_norm");
  expectClose((*results)[1], layerNorm(x, inputs[1], inputs[2]), dtype,
              "layer_norm");
  expectClose((*results)[2], rope(x), dtype, "rope");
  // kv_append copies: exact.
  std::vector<double> kv(inputs[3].data.begin(), inputs[3].data.end());
  kv.insert(kv.end(), inputs[4].data.begin(), inputs[4].data.end());
  EXPECT_EQ((*results)[3].shape, (llvm::SmallVector<int64_t, 4>{7, 8}));
  for (size_t i = 0; i < kv.size(); ++i)
    EXPECT_EQ((*results)[3].data[i], kv[i]) << "kv_append element " << i;
  expectClose((*results)[4], attention(x, kv), dtype, "attention");
  for (const HostTensor &r : *results)
    EXPECT_EQ(r.dtype, dtype);
}

TEST_F(KBInterpreterTest, EmptyTensorsRun) {
  // Zero-sized features and tokens are valid kb: each op returns its empty
  // result (no division by the zero feature count).
  const char *text = R"mlir(
    module {
      func.func @empty(%x: tensor<0xf32>, %y: tensor<5x0xf32>, %w: tensor<0xf32>,
                       %q: tensor<0x8xf32>, %c: tensor<0x8xf32>)
          -> (tensor<0xf32>, tensor<5x0xf32>, tensor<5x0xf32>, tensor<0x8xf32>) {
        %0 = kb.layer_norm %x, %w, %w : tensor<0xf32>, tensor<0xf32>, tensor<0xf32>
        %1 = kb.rms_norm %y, %w : tensor<5x0xf32>, tensor<0xf32>
        %2 = kb.rope %y head_dim 4 : tensor<5x0xf32>
        %3 = kb.kv_append %c, %q : tensor<0x8xf32>, tensor<0x8xf32> -> tensor<0x8xf32>
        %4 = kb.attention %q, %3, %3 heads 2 kv_heads 2
            : (tensor<0x8xf32>, tensor<0x8xf32>, tensor<0x8xf32>) -> tensor<0x8xf32>
        return %0, %1, %2, %4 : tensor<0xf32>, tensor<5x0xf32>, tensor<5x0xf32>, tensor<0x8xf32>
      }
    })mlir";
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  ASSERT_TRUE(module);
  llvm::Expected<Program> program = analyzeProgram(*module, "");
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  std::vector<HostTensor> inputs = {runtime::makeTensor(DType::F32, {0}),
                                    runtime::makeTensor(DType::F32, {5, 0}),
                                    runtime::makeTensor(DType::F32, {0}),
                                    runtime::makeTensor(DType::F32, {0, 8}),
                                    runtime::makeTensor(DType::F32, {0, 8})};
  llvm::Expected<llvm::SmallVector<HostTensor>> results =
      runKBProgram(*program, inputs);
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[1].shape, (llvm::SmallVector<int64_t, 4>{5, 0}));
  EXPECT_EQ((*results)[3].shape, (llvm::SmallVector<int64_t, 4>{0, 8}));
}

TEST_F(KBInterpreterTest, HalfInputsAndFreedIntermediatesGiveTheSameResults) {
  // %0 is read by two ops (freed only after the second); %w is a gemm weight
  // and also a gemm's left operand (widened for that use); %v is only a
  // weight (read as f16 bits by the gemm); %x is only a left operand.
  const char *text = R"mlir(
    module {
      func.func @mm(%x: tensor<8x8xf16>, %w: tensor<8x8xf16>, %v: tensor<8x8xf16>)
          -> (tensor<8x8xf16>, tensor<8x8xf16>) {
        %0 = kb.matmul %x, %w : (tensor<8x8xf16>, tensor<8x8xf16>) -> tensor<8x8xf16>
        %1 = kb.matmul %0, %w : (tensor<8x8xf16>, tensor<8x8xf16>) -> tensor<8x8xf16>
        %2 = kb.matmul %w, %0 : (tensor<8x8xf16>, tensor<8x8xf16>) -> tensor<8x8xf16>
        %3 = kb.matmul %1, %v : (tensor<8x8xf16>, tensor<8x8xf16>) -> tensor<8x8xf16>
        return %3, %2 : tensor<8x8xf16>, tensor<8x8xf16>
      }
    })mlir";
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  ASSERT_TRUE(module);
  llvm::Expected<Program> program = analyzeProgram(*module, "");
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  std::vector<HostTensor> wide = {runtime::randomTensor(DType::F16, {8, 8}, 1),
                                  runtime::randomTensor(DType::F16, {8, 8}, 2),
                                  runtime::randomTensor(DType::F16, {8, 8}, 3)};
  std::vector<HostTensor> half = wide;
  for (HostTensor &t : half) {
    t.narrow();
    ASSERT_TRUE(t.isHalf());
  }
  auto fromWide = runKBProgram(*program, wide);
  auto fromHalf = runKBProgram(*program, half);
  ASSERT_TRUE(static_cast<bool>(fromWide))
      << llvm::toString(fromWide.takeError());
  ASSERT_TRUE(static_cast<bool>(fromHalf))
      << llvm::toString(fromHalf.takeError());
  // The inputs are left as they were given.
  for (const HostTensor &t : half)
    EXPECT_TRUE(t.isHalf());
  // Double-precision products, each rounded to f16 as the device does.
  auto product = [](const std::vector<double> &a, const std::vector<double> &b) {
    std::vector<double> c(64);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) {
        double sum = 0;
        for (int p = 0; p < 8; ++p)
          sum += a[i * 8 + p] * b[p * 8 + j];
        c[i * 8 + j] = runtime::roundToDType(static_cast<float>(sum), DType::F16);
      }
    return c;
  };
  auto values = [](const HostTensor &t) {
    return std::vector<double>(t.data.begin(), t.data.end());
  };
  std::vector<double> x = values(wide[0]), w = values(wide[1]),
                      v = values(wide[2]);
  std::vector<double> p0 = product(x, w);
  std::vector<std::vector<double>> expected = {product(product(p0, w), v),
                                               product(w, p0)};
  for (size_t r = 0; r < 2; ++r) {
    const HostTensor &got = (*fromHalf)[r];
    ASSERT_FALSE(got.isHalf());
    ASSERT_EQ(got.data.size(), 64u);
    for (size_t i = 0; i < 64; ++i) {
      EXPECT_EQ(got.data[i], (*fromWide)[r].data[i])
          << "result " << r << " element " << i;
      EXPECT_NEAR(got.data[i], expected[r][i],
                  4e-3 * (1 + std::fabs(expected[r][i])))
          << "result " << r << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, KBInterpreterTest,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16),
                         [](const auto &info) {
                           return runtime::dtypeName(info.param).str();
                         });

} // namespace
