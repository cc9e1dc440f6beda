//===- DTypeTest.cpp - f16 and bf16 rounding ------------------------------===//

#include "kb/Runtime/DType.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace kb::runtime;

namespace {

TEST(DTypeTest, EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    float value = halfToFloat(static_cast<uint16_t>(bits));
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(value))));
      continue;
    }
    EXPECT_EQ(floatToHalf(value), bits) << "bits " << bits;
  }
}

TEST(DTypeTest, HalfRoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even 1.
  EXPECT_EQ(halfToFloat(floatToHalf(1.0f + std::ldexp(1.0f, -11))), 1.0f);
  // 1 + 3·2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: the even one.
  EXPECT_EQ(halfToFloat(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11))),
            1.0f + std::ldexp(1.0f, -9));
  EXPECT_EQ(halfToFloat(floatToHalf(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(halfToFloat(floatToHalf(65520.0f))));
  EXPECT_EQ(halfToFloat(floatToHalf(std::ldexp(1.0f, -24))),
            std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(floatToHalf(std::ldexp(1.0f, -26))), 0.0f);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
}

TEST(DTypeTest, BF16RoundsToNearestEven) {
  EXPECT_EQ(bf16ToFloat(floatToBF16(1.0f)), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
  EXPECT_EQ(bf16ToFloat(floatToBF16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(bf16ToFloat(floatToBF16(1.0f + 3 * std::ldexp(1.0f, -8))),
            1.0f + std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBF16(NAN))));
  EXPECT_TRUE(std::isinf(bf16ToFloat(floatToBF16(INFINITY))));
}

TEST(DTypeTest, BufferRoundingMatchesScalar) {
  std::vector<float> data;
  for (int i = -5000; i < 5000; ++i)
    data.push_back(i * 0.0137f + std::ldexp(1.0f, -20) * i);
  data.push_back(70000.0f);
  data.push_back(std::ldexp(1.0f, -25));
  for (DType dtype : {DType::F16, DType::BF16, DType::F32}) {
    std::vector<float> rounded = data;
    roundBufferToDType(rounded.data(), rounded.size(), dtype);
    for (size_t i = 0; i < data.size(); ++i) {
      float expected = roundToDType(data[i], dtype);
      EXPECT_TRUE(rounded[i] == expected ||
                  (std::isinf(rounded[i]) && std::isinf(expected)))
          << dtypeName(dtype).str() << " at " << data[i];
    }
  }
}

TEST(DTypeTest, Names) {
  for (DType dtype :
       {DType::F16, DType::BF16, DType::F32, DType::I32, DType::I64})
    EXPECT_EQ(parseDType(dtypeName(dtype)), dtype);
  EXPECT_FALSE(parseDType("f64"));
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
}

TEST(DTypeTest, IntegersAreHeldExactly) {
  // Ids are exact f32 integers: no dtype rounding may move them.
  float ids[] = {0.0f, 1.0f, 50256.0f, 16777216.0f, -3.0f};
  for (DType dtype : {DType::I32, DType::I64}) {
    EXPECT_TRUE(isIntegerDType(dtype));
    std::vector<float> copy(std::begin(ids), std::end(ids));
    roundBufferToDType(copy.data(), copy.size(), dtype);
    for (size_t i = 0; i < copy.size(); ++i) {
      EXPECT_EQ(copy[i], ids[i]);
      EXPECT_EQ(roundToDType(ids[i], dtype), ids[i]);
    }
  }
  EXPECT_FALSE(isIntegerDType(DType::F32));
}

} // namespace

TEST(DTypeBufferTest, HalvesToFloatsIsHalfToFloatForEveryBitPattern) {
  // Every f16 bit pattern, at every offset of an 8-wide vector and its tail.
  std::vector<uint16_t> in(65536 + 5);
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<uint16_t>(i);
  for (size_t skip : {0, 1, 3}) {
    std::vector<float> out(in.size() - skip, 42.0f);
    kb::runtime::halvesToFloats(in.data() + skip, out.data(), out.size());
    for (size_t i = 0; i < out.size(); ++i) {
      float expected = kb::runtime::halfToFloat(in[skip + i]);
      if (std::isnan(expected)) {
        ASSERT_TRUE(std::isnan(out[i])) << "bits " << in[skip + i];
        continue;
      }
      uint32_t a, b;
      std::memcpy(&a, &out[i], 4);
      std::memcpy(&b, &expected, 4);
      ASSERT_EQ(a, b) << "bits " << in[skip + i];
    }
  }
}

TEST(DTypeBufferTest, FloatsToHalvesIsFloatToHalfBitForBit) {
  // Every f16 value, the points halfway between neighbours (ties round to
  // even), values beyond the range, subnormals, and NaNs with payloads,
  // at offsets that leave vector tails.
  std::vector<float> in;
  for (uint32_t h = 0; h < 65536; ++h) {
    float v = kb::runtime::halfToFloat(static_cast<uint16_t>(h));
    in.push_back(v);
    float next = kb::runtime::halfToFloat(static_cast<uint16_t>(h + 1));
    if (std::isfinite(v) && std::isfinite(next))
      in.push_back(v + (next - v) / 2);
  }
  for (float v : {1e-9f, -3e-8f, 65520.0f, 1e6f, -1e30f})
    in.push_back(v);
  for (uint32_t bits : {0x7fc00001u, 0xffa00000u, 0x7f800001u}) {
    float nan;
    std::memcpy(&nan, &bits, 4);
    in.push_back(nan);
  }
  for (size_t skip : {0, 1, 5}) {
    std::vector<uint16_t> out(in.size() - skip, 0x1234);
    kb::runtime::floatsToHalves(in.data() + skip, out.data(), out.size());
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_EQ(out[i], kb::runtime::floatToHalf(in[skip + i]))
          << "value " << in[skip + i] << " at " << i;
  }
}
