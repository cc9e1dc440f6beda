//===- DeviceDescription.cpp - the AHBM machine model ---------------------===//

#include "kb/Device/DeviceDescription.h"
#include "kb/Device/ByteArithmetic.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

using namespace kb;

namespace {
/// One field per row: its name in IR and JSON, and where it lives.
struct Field {
  llvm::StringLiteral name;
  int64_t DeviceDescription::*member;
};
constexpr Field kFields[] = {
    {"cubes", &DeviceDescription::cubes},
    {"pes_per_cube", &DeviceDescription::pesPerCube},
    {"pe_buffer_kib", &DeviceDescription::peBufferKiB},
    {"pe_gflops", &DeviceDescription::peGflops},
    {"pe_gflops_f32", &DeviceDescription::peGflopsF32},
    {"cube_pe_gbps", &DeviceDescription::cubePeGBps},
    {"cube_cube_gbps", &DeviceDescription::cubeCubeGBps},
    {"link_gbps", &DeviceDescription::linkGBps},
    {"cube_memory_mib", &DeviceDescription::cubeMemoryMiB},
};
} // namespace

std::string DeviceDescription::validate() const {
  for (const Field &field : kFields)
    if (this->*field.member <= 0)
      return ("device field '" + field.name + "' must be positive, got " +
              llvm::Twine(this->*field.member))
          .str();
  // Limits that keep byte and FLOP arithmetic far from overflow.
  if (cubes > 4096 || pesPerCube > 4096 || cubeMemoryMiB > kMaxCubeMemoryMiB ||
      peBufferKiB > (int64_t(1) << 30) || peGflops > (int64_t(1) << 30) ||
      peGflopsF32 > (int64_t(1) << 30) || cubePeGBps > (int64_t(1) << 30) ||
      cubeCubeGBps > (int64_t(1) << 30) || linkGBps > (int64_t(1) << 30))
    return "device description is beyond any AHBM machine (at most 4096 "
           "cubes, 4096 PEs per cube, 2^30 of any rate or size)";
  return "";
}

llvm::json::Object DeviceDescription::toJSON() const {
  llvm::json::Object object;
  for (const Field &field : kFields)
    object[field.name] = this->*field.member;
  return object;
}

llvm::Expected<DeviceDescription>
DeviceDescription::fromJSON(llvm::StringRef text) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed)
    return parsed.takeError();
  const llvm::json::Object *object = parsed->getAsObject();
  if (!object)
    return llvm::createStringError(
        "a device description must be a JSON object");
  DeviceDescription d;
  for (const auto &[key, value] : *object) {
    const Field *field = llvm::find_if(
        kFields, [&](const Field &f) { return f.name == key.str(); });
    if (field == std::end(kFields))
      return llvm::createStringError(
          "unknown device field '" + key.str() +
          "' (known: cubes, pes_per_cube, pe_buffer_kib, pe_gflops, "
          "pe_gflops_f32, cube_pe_gbps, cube_cube_gbps, link_gbps, "
          "cube_memory_mib)");
    std::optional<int64_t> number = value.getAsInteger();
    if (!number)
      return llvm::createStringError("device field '" + key.str() +
                                     "' must be an integer");
    d.*(field->member) = *number;
  }
  std::string problem = d.validate();
  if (!problem.empty())
    return llvm::createStringError(problem);
  return d;
}

std::optional<std::string>
kb::cubeMemoryOverflow(llvm::ArrayRef<int64_t> bytesPerCube,
                       const DeviceDescription &device) {
  for (auto [cube, bytes] : llvm::enumerate(bytesPerCube))
    if (!device.cubeHolds(bytes))
      return ("needs " + byteCountText(bytes) + " bytes in cube " +
              llvm::Twine(cube) + ", but a cube holds " +
              llvm::Twine(device.cubeMemoryBytes()) + " bytes")
          .str();
  return std::nullopt;
}
