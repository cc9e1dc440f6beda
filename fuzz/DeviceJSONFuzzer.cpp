//===- DeviceJSONFuzzer.cpp - libFuzzer target: device descriptions -------===//
//
// kb-run --device reads a user's JSON file; whatever the text (deeply nested,
// huge numbers, unknown keys, invalid UTF-8), DeviceDescription::fromJSON
// must return a description that validates or an error, never crash.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<kb::gemm_tile::DeviceDescription> device =
      kb::gemm_tile::DeviceDescription::fromJSON(text);
  if (!device) {
    llvm::consumeError(device.takeError());
    return 0;
  }
  // What parsed is a machine kb can model, and survives a round trip.
  if (!device->validate().empty())
    __builtin_trap();
  llvm::Expected<kb::gemm_tile::DeviceDescription> back =
      kb::gemm_tile::DeviceDescription::fromJSON(
          llvm::formatv("{0}", llvm::json::Value(device->toJSON())).str());
  if (!back || back->toJSON() != device->toJSON())
    __builtin_trap();
  return 0;
}
