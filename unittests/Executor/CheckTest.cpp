//===- CheckTest.cpp - kb-run --check's comparison ------------------------===//

#include "kb/Executor/Report.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

namespace {

using kb::exec::CheckResult;
using kb::exec::compareResults;
using kb::exec::toleranceFor;
using kb::runtime::DType;
using kb::runtime::HostTensor;

HostTensor tensor(DType dtype, std::vector<float> values) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = {static_cast<int64_t>(values.size())};
  t.data.assign(values.begin(), values.end());
  return t;
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(CheckTest, CloseFiniteResultsPass) {
  CheckResult c = compareResults({tensor(DType::F32, {1, 2, -4})},
                                 {tensor(DType::F32, {1, 2.0001f, -4})});
  EXPECT_TRUE(c.passed) << c.worst;
  EXPECT_GT(c.maxAbsError, 0);
  EXPECT_EQ(c.nonFinite, 0);
}

TEST(CheckTest, AWrongElementFailsAndIsNamed) {
  CheckResult c = compareResults({tensor(DType::F32, {1, 3, -4})},
                                 {tensor(DType::F32, {1, 2, -4})});
  EXPECT_FALSE(c.passed);
  EXPECT_NE(c.worst.find("result 0 element 1: got 3, the reference 2"),
            std::string::npos)
      << c.worst;
}

TEST(CheckTest, TheWorstElementIsNamedByRowAndColumn) {
  HostTensor got = tensor(DType::F32, {1, 2, 3, 4, 5, 60});
  HostTensor want = tensor(DType::F32, {1, 2, 3, 4, 5, 6});
  got.shape = want.shape = {2, 3};
  CheckResult c = compareResults({got}, {want});
  EXPECT_FALSE(c.passed);
  EXPECT_NE(c.worst.find("result 0 element 5 (row 1, col 2): got 60"),
            std::string::npos)
      << c.worst;
  EXPECT_EQ(c.worstResult, 0);
  EXPECT_EQ(c.worstIndex, (llvm::SmallVector<int64_t, 2>{1, 2}));
}

TEST(CheckTest, NaNAgainstNaNFails) {
  CheckResult c = compareResults({tensor(DType::F16, {kNaN, kNaN})},
                                 {tensor(DType::F16, {kNaN, kNaN})});
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.nonFinite, 2);
  EXPECT_TRUE(std::isinf(c.maxAbsError));
  EXPECT_NE(c.worst.find("element 0 is NaN, the reference NaN"),
            std::string::npos)
      << c.worst;
}

TEST(CheckTest, ANaNResultAgainstAFiniteReferenceFails) {
  CheckResult c = compareResults({tensor(DType::F32, {1, kNaN})},
                                 {tensor(DType::F32, {1, 2})});
  EXPECT_FALSE(c.passed);
  EXPECT_NE(c.worst.find("element 1 is NaN, the reference 2"),
            std::string::npos)
      << c.worst;
}

TEST(CheckTest, AnInfInTheReferenceDoesNotHideAMismatch) {
  // The Inf once became the scale, and every relative error 0.
  CheckResult c = compareResults({tensor(DType::F32, {100, -7, kInf})},
                                 {tensor(DType::F32, {1, 2, kInf})});
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.nonFinite, 1);
  EXPECT_NE(c.worst.find("a reference that is not finite cannot be checked"),
            std::string::npos)
      << c.worst;
}

TEST(CheckTest, AnInfResultAgainstAFiniteReferenceFails) {
  CheckResult c = compareResults({tensor(DType::F32, {1, -kInf})},
                                 {tensor(DType::F32, {1, 2})});
  EXPECT_FALSE(c.passed);
  EXPECT_NE(c.worst.find("element 1 is -Inf, the reference 2"),
            std::string::npos)
      << c.worst;
}

TEST(CheckTest, TolerancesFollowTheAccumulation) {
  EXPECT_EQ(toleranceFor(DType::F32, 8), 1e-4);
  // bf16 partial sums accumulate in f32: no growth with W.
  EXPECT_EQ(toleranceFor(DType::BF16, 2), toleranceFor(DType::BF16, 4096));
  // f16 rounds at every ring step: the bound grows like sqrt(W - 1).
  EXPECT_EQ(toleranceFor(DType::F16, 8), 1e-2);
  EXPECT_NEAR(toleranceFor(DType::F16, 4097), 4 * 64 * std::ldexp(1.0, -11),
              1e-12);
}

} // namespace
