//===- DeviceDescription.cpp - the AHBM machine model ---------------------===//

#include "kb/Device/DeviceDescription.h"
#include "kb/Device/ByteArithmetic.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

#include <cmath>

using namespace kb;

namespace {
/// One field per row: its name in IR and JSON, where it lives, and the least
/// value it may take (rates and sizes are positive; latencies, and the mesh
/// width that is 0 without a mesh, may be 0).
struct Field {
  llvm::StringLiteral name;
  int64_t DeviceDescription::*member;
  int64_t least = 1;
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
    {"mesh_cols", &DeviceDescription::meshCols, 0},
    {"ring_step_latency_ns", &DeviceDescription::ringStepLatencyNs, 0},
    {"dma_latency_local_ns", &DeviceDescription::dmaLatencyLocalNs, 0},
    {"dma_latency_far_cube_ns", &DeviceDescription::dmaLatencyFarCubeNs, 0},
    {"kernel_launch_ns", &DeviceDescription::kernelLaunchNs, 0},
    {"compute_efficiency_permille",
     &DeviceDescription::computeEfficiencyPermille},
    {"memory_efficiency_permille",
     &DeviceDescription::memoryEfficiencyPermille},
    {"switch_round_trip_ns", &DeviceDescription::switchRoundTripNs, 0},
    {"switch_mibps", &DeviceDescription::switchMiBps, 0},
    {"flit_bytes", &DeviceDescription::flitBytes},
    {"flit_payload_bytes", &DeviceDescription::flitPayloadBytes},
};

/// The field names, for the message about an unknown one.
std::string fieldNames() {
  std::string names;
  for (const Field &field : kFields)
    names += (names.empty() ? "" : ", ") + field.name.str();
  return names;
}
} // namespace

/// The AHBM family's numbers (docs/Device.md names the source of each).
static DeviceDescription ahbm() {
  DeviceDescription d{DeviceDescription::Small{}};
  d.cubes = 16;
  d.meshCols = 4;
  d.cubePeGBps = 2048;  // 8 PEs x 8 pseudo-channels x 32 GB/s
  d.cubeCubeGBps = 128; // a UCIe link of the mesh
  d.linkGBps = 128;     // our choice: the same UCIe link between SIPs
  d.ringStepLatencyNs = 409;
  d.dmaLatencyLocalNs = 77;
  d.dmaLatencyFarCubeNs = 573;
  d.kernelLaunchNs = 77; // our choice: one local access before a PE's work
  d.memoryEfficiencyPermille = 830; // 27.2 TB/s of 128 x 256 GB/s
  return d;
}

/// The built-in default: the AHBM family's description. `small` is by name
/// only.
DeviceDescription::DeviceDescription() { *this = ahbm(); }

std::optional<DeviceDescription>
DeviceDescription::preset(llvm::StringRef name) {
  if (name == "small")
    return DeviceDescription(Small{});
  if (name == "ahbm")
    return ahbm();
  return std::nullopt;
}

std::string DeviceDescription::presetNames() { return "ahbm, small"; }

std::string DeviceDescription::validate() const {
  for (const Field &field : kFields)
    if (this->*field.member < field.least)
      return ("device field '" + field.name + "' must be " +
              (field.least ? "positive" : "at least 0") + ", got " +
              llvm::Twine(this->*field.member))
          .str();
  if (switched() && switchMiBps == 0)
    return "device field 'switch_mibps' must be positive when "
           "'switch_round_trip_ns' selects switch collectives";
  if (flitPayloadBytes > flitBytes)
    return ("device field 'flit_payload_bytes' (" +
            llvm::Twine(flitPayloadBytes) + ") exceeds 'flit_bytes' (" +
            llvm::Twine(flitBytes) + ")")
        .str();
  // Limits that keep byte and FLOP arithmetic far from overflow.
  if (cubes > 4096 || pesPerCube > 4096 || cubeMemoryMiB > kMaxCubeMemoryMiB ||
      peBufferKiB > (int64_t(1) << 30) || peGflops > (int64_t(1) << 30) ||
      peGflopsF32 > (int64_t(1) << 30) || cubePeGBps > (int64_t(1) << 30) ||
      cubeCubeGBps > (int64_t(1) << 30) || linkGBps > (int64_t(1) << 30) ||
      ringStepLatencyNs > (int64_t(1) << 30) ||
      dmaLatencyLocalNs > (int64_t(1) << 30) ||
      dmaLatencyFarCubeNs > (int64_t(1) << 30) ||
      kernelLaunchNs > (int64_t(1) << 30) ||
      switchRoundTripNs > (int64_t(1) << 30) ||
      switchMiBps > (int64_t(1) << 30) || flitBytes > (int64_t(1) << 30))
    return "device description is beyond any AHBM machine (at most 4096 "
           "cubes, 4096 PEs per cube, 2^30 of any rate, size or latency)";
  for (auto [name, value] :
       {std::pair{"compute_efficiency_permille", computeEfficiencyPermille},
        std::pair{"memory_efficiency_permille", memoryEfficiencyPermille}})
    if (value > 1000)
      return ("device field '" + llvm::Twine(name) +
              "' is a share of the peak rate, at most 1000 per mille, got " +
              llvm::Twine(value))
          .str();
  if (dmaLatencyFarCubeNs < dmaLatencyLocalNs)
    return ("a DMA to the farthest cube ('dma_latency_far_cube_ns' = " +
            llvm::Twine(dmaLatencyFarCubeNs) +
            ") cannot take less than one within a cube "
            "('dma_latency_local_ns' = " +
            llvm::Twine(dmaLatencyLocalNs) + ")")
        .str();
  return "";
}

llvm::json::Object DeviceDescription::toJSON() const {
  llvm::json::Object object;
  for (const Field &field : kFields)
    object[field.name] = this->*field.member;
  return object;
}

/// The deepest nesting of JSON arrays and objects fromJSON parses. A device
/// description is one flat object; llvm::json::parse recurses once per level
/// and would exhaust the stack on a file of a few hundred thousand `[`.
static constexpr unsigned kMaxJSONNesting = 64;

/// Refuses text whose arrays and objects nest deeper than kMaxJSONNesting,
/// before the recursive parser sees it.
static llvm::Error checkJSONNesting(llvm::StringRef text) {
  unsigned depth = 0, line = 1;
  size_t lineStart = 0;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      lineStart = i + 1;
    } else if (c == '"') {
      for (++i; i < e && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJSONNesting)
        return llvm::createStringError(
            "line " + llvm::Twine(line) + ", column " +
            llvm::Twine(i - lineStart + 1) + ": JSON nested deeper than " +
            llvm::Twine(kMaxJSONNesting) +
            " levels (a device description is one flat object)");
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return llvm::Error::success();
}

llvm::Expected<DeviceDescription>
DeviceDescription::fromJSON(llvm::StringRef text) {
  if (llvm::Error e = checkJSONNesting(text))
    return std::move(e);
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed)
    return parsed.takeError();
  const llvm::json::Object *object = parsed->getAsObject();
  if (!object)
    return llvm::createStringError(
        "a device description must be a JSON object");
  // "preset": the built-in description the other keys change.
  DeviceDescription d;
  if (const llvm::json::Value *preset = object->get("preset")) {
    std::optional<llvm::StringRef> name = preset->getAsString();
    std::optional<DeviceDescription> base =
        name ? DeviceDescription::preset(*name) : std::nullopt;
    if (!base)
      return llvm::createStringError(
          "device field 'preset' must name a built-in device (" +
          presetNames() + ")");
    d = *base;
  }
  for (const auto &member : *object) {
    // Named, not a structured binding: the lambdas below capture them.
    const llvm::json::ObjectKey &key = member.first;
    const llvm::json::Value &value = member.second;
    if (key == "preset")
      continue;
    const Field *field = llvm::find_if(
        kFields, [&](const Field &f) { return f.name == key.str(); });
    if (field == std::end(kFields))
      return llvm::createStringError(
          "unknown device field '" + key.str() +
          "' (known: preset, " + fieldNames() + ")");
    // llvm::json converts a double to int64 unchecked at 2^63 (undefined
    // behaviour); no device field comes near 2^53, so refuse such numbers
    // before asking for an integer.
    std::optional<double> magnitude = value.getAsNumber();
    if (magnitude && !(std::fabs(*magnitude) < 0x1p53))
      return llvm::createStringError("device field '" + key.str() +
                                     "' is out of range (at most 2^30)");
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
