#pragma once
/// \file
/// The model file: one binary file holding a whole model, optionally with its optimizer state
/// (a training checkpoint).
///
///     offset  field
///     0       magic "MDNN"
///     4       u32 format version (2; version-1 files still load)
///     8       u32 scalar size of the stored values (4 = float32, 8 = float64)
///     12      u64 payload size P
///     20      payload (P bytes):
///               input shape (u32 rank, i32 dims...)
///               u32 layer count; per layer: type string, hyperparameters (the layer's
///               write_config), u32 parameter count, per parameter: name, u32 rank, i32 dims,
///               values; [v2] u32 non-trainable parameter count, each stored as a parameter is
///               (BatchNormalization's moving mean and variance); then the layer's state (write_state)
///               u8 has_optimizer; if 1: type string, optimizer config, per parameter its slots
///               metadata string (free-form key=value lines for tools, e.g. the epoch reached)
///     20+P    u32 CRC-32 of the payload
///
/// Version 1 (before the layers of format 2) has no non-trainable block; it is read as having
/// none, and a layer that needs one is refused in a version-1 file.
///
/// Integers are little-endian. Loading checks the magic, version, size and checksum before
/// reading any field, and every field is bounds-checked, so a truncated, corrupt or foreign file
/// is a minidnn::Error saying what is wrong, never garbage weights.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "minidnn/io/atomic_file.hpp"
#include "minidnn/io/binary_io.hpp"
#include "minidnn/layers/registry.hpp"
#include "minidnn/optim/adam.hpp"
#include "minidnn/optim/sgd.hpp"

namespace minidnn {

namespace model_file {

constexpr char kMagic[4] = {'M', 'D', 'N', 'N'};
constexpr std::uint32_t kVersion = 2;
/// The oldest format version load() still reads.
constexpr std::uint32_t kOldestVersion = 1;
constexpr std::size_t kHeaderSize = 20;
/// No model file's payload may be larger than this (1 TiB): keeps the size arithmetic exact.
constexpr std::uint64_t kMaxPayloadBytes = std::uint64_t(1) << 40;

/// What a model file holds, in memory.
template <typename T>
struct Contents {
  Shape input_shape;
  std::vector<std::unique_ptr<Layer<T>>> layers;
  std::unique_ptr<Optimizer<T>> optimizer;  // null unless the file is a checkpoint
  std::string metadata;
};

inline void write_shape(BinaryWriter& out, const std::vector<int>& dims) {
  out.write<std::uint32_t>(static_cast<std::uint32_t>(dims.size()));
  for (int d : dims) out.write<std::int32_t>(d);
}

/// No shape a model file describes may hold more values than this (per sample, for activations):
/// 256 MiB of floats, far beyond any model this library trains, and small enough that a corrupt
/// file cannot make the loader allocate without bound.
constexpr std::size_t kMaxShapeElements = std::size_t(1) << 26;

inline void check_plausible(const Shape& shape, const std::string& what, const std::string& field) {
  std::size_t elements = 1;
  for (int d : shape.dims()) {
    if (d <= 0 || std::size_t(d) > kMaxShapeElements / elements)
      fail(what, ": implausible ", field, " ", shape.to_string(), " (more than ", kMaxShapeElements, " values)");
    elements *= std::size_t(d);
  }
}

inline std::vector<int> read_dims(BinaryReader& in, const char* field) {
  const auto rank = in.read<std::uint32_t>(field);
  if (rank == 0 || rank > 8) fail(in.what(), ": ", field, " has invalid rank ", rank);
  std::vector<int> dims(rank);
  for (auto& d : dims) {
    d = in.read<std::int32_t>(field);
    if (d <= 0) fail(in.what(), ": ", field, " has a non-positive dimension ", d);
  }
  check_plausible(Shape(dims), in.what(), field);
  return dims;
}

/// Reads `count` stored values of `stored_size` bytes each into `out`, converting to T.
template <typename T>
void read_values(BinaryReader& in, std::uint32_t stored_size, T* out, std::size_t count, const std::string& field) {
  if (stored_size == sizeof(T)) {
    in.read_array(out, count, field.c_str());
    return;
  }
  if (stored_size == 4) {
    std::vector<float> tmp(count);
    in.read_array(tmp.data(), count, field.c_str());
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(tmp[i]);
  } else {
    std::vector<double> tmp(count);
    in.read_array(tmp.data(), count, field.c_str());
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(tmp[i]);
  }
}

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& type, const std::string& what) {
  if (auto adam = Adam<T>::for_stored_type(type)) return adam;  // Adam, Adam/2, AdamW
  if (auto sgd = SGD<T>::for_stored_type(type)) return sgd;     // SGD, SGD/2
  fail(what, ": unknown optimizer type '", type, "'");
}

/// Writes a count, then each parameter's name, shape and values.
template <typename T>
void write_parameters(BinaryWriter& out, const std::vector<Parameter<T>*>& params) {
  out.write<std::uint32_t>(static_cast<std::uint32_t>(params.size()));
  for (const auto* p : params) {
    out.write_string(p->name);
    write_shape(out, p->dims);
    out.write_array(p->value.data(), p->size());
  }
}

/// Reads what write_parameters wrote into `params`, which must match it in count, names and shapes.
template <typename T>
void read_parameters(BinaryReader& in, std::uint32_t scalar_size, const std::vector<Parameter<T>*>& params,
                     const std::string& where, const char* kind) {
  const auto stored = in.read<std::uint32_t>("parameter count");
  if (stored != params.size()) fail(where, ": stores ", stored, " ", kind, "s, expected ", params.size());
  for (auto* p : params) {
    const std::string name = in.read_string("parameter name", 256);
    if (name != p->name) fail(where, ": expected ", kind, " '", p->name, "', found '", name, "'");
    if (read_dims(in, "parameter shape") != p->dims) fail(where, ": ", kind, " '", name, "' has the wrong shape");
    read_values(in, scalar_size, p->value.data(), p->size(), where + " " + name);
    // A NaN or infinity behind a valid checksum would make every prediction garbage (loss nan,
    // every face the first class): refuse it here, naming where it is.
    for (std::size_t k = 0; k < p->size(); ++k)
      if (!std::isfinite(p->value[k]))
        fail(where, ": ", kind, " '", name, "' holds a non-finite value (", p->value[k], ") at index ", k,
             ": the model is broken (training diverged?)");
  }
}

/// Serializes a built model (and the optimizer, if given) and writes it atomically to `path`.
template <typename T>
void save(const std::filesystem::path& path, const Shape& input_shape,
          const std::vector<std::unique_ptr<Layer<T>>>& layers, const Optimizer<T>* optimizer,
          const std::string& metadata) {
  BinaryWriter payload;
  write_shape(payload, input_shape.dims());
  payload.write<std::uint32_t>(static_cast<std::uint32_t>(layers.size()));
  for (const auto& layer : layers) {
    payload.write_string(layer->type());
    layer->write_config(payload);
    write_parameters(payload, layer->parameters());
    write_parameters(payload, layer->non_trainable_parameters());
    layer->write_state(payload);
  }
  payload.write<std::uint8_t>(optimizer ? 1 : 0);
  if (optimizer) {
    payload.write_string(optimizer->type());
    optimizer->write_config(payload);
    for (const auto& layer : layers) {
      for (const auto* p : layer->parameters()) {
        payload.write<std::uint32_t>(static_cast<std::uint32_t>(p->optimizer_slots.size()));
        for (const auto& slot : p->optimizer_slots) payload.write_array(slot.data(), slot.size());
      }
    }
  }
  payload.write_string(metadata);

  BinaryWriter file;
  std::string bytes(kMagic, 4);
  file.write<std::uint32_t>(kVersion);
  file.write<std::uint32_t>(sizeof(T));
  file.write<std::uint64_t>(payload.bytes().size());
  bytes += file.bytes();
  bytes += payload.bytes();
  const std::uint32_t crc = crc32(payload.bytes().data(), payload.bytes().size());
  bytes.append(reinterpret_cast<const char*>(&crc), sizeof(crc));
  write_file_atomically(path, bytes);
}

/// Reads and checks a whole model file. The returned layers are built and hold the weights.
template <typename T>
Contents<T> load(const std::filesystem::path& path) {
  const std::string what = path.string();
  // The 20-byte header is read and checked before anything else, and the payload's size is
  // checked against the file's before it is read: a huge or endless file (a 2 GB sparse file,
  // /dev/zero, a directory) is an error at once, in constant memory.
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail("cannot open model file ", what, ": ", std::strerror(errno));
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{file};
  struct stat info {};
  const bool stat_ok = ::fstat(::fileno(file), &info) == 0;
  if (stat_ok && S_ISDIR(info.st_mode)) fail("cannot read model file ", what, ": it is a directory, not a file");
  char header_bytes[kHeaderSize];
  const std::size_t header_got = std::fread(header_bytes, 1, kHeaderSize, file);
  if (std::ferror(file)) fail("cannot read model file ", what, ": ", std::strerror(errno));
  if (header_got < 4 || std::memcmp(header_bytes, kMagic, 4) != 0)
    fail(what, ": not a minidnn model file (bad magic number)");
  if (header_got < kHeaderSize) fail(what, ": truncated: the header is incomplete");
  BinaryReader header(header_bytes + 4, kHeaderSize - 4, what);
  const auto version = header.read<std::uint32_t>("format version");
  if (version < kOldestVersion || version > kVersion)
    fail(what, ": unsupported format version ", version, " (this build reads versions ", kOldestVersion, " to ",
         kVersion, ")");
  const auto scalar_size = header.read<std::uint32_t>("scalar size");
  if (scalar_size != 4 && scalar_size != 8) fail(what, ": invalid scalar size ", scalar_size);
  const auto payload_size = header.read<std::uint64_t>("payload size");
  if (payload_size > kMaxPayloadBytes)
    fail(what, ": implausible payload size ", payload_size, " bytes (at most ", kMaxPayloadBytes, ")");
  if (stat_ok && S_ISREG(info.st_mode)) {
    const std::uint64_t available = static_cast<std::uint64_t>(info.st_size) - kHeaderSize;
    if (available < 4 || payload_size > available - 4)
      fail(what, ": truncated: expected ", payload_size + 4, " bytes after the header, found ", available);
    if (payload_size < available - 4)
      fail(what, ": ", available - 4 - payload_size, " unexpected bytes after the model");
  }
  // Not a regular file (a pipe, a device): read what arrives, in steps, so memory follows the
  // data actually there rather than the size the header claims.
  std::string bytes;
  {
    constexpr std::size_t kStep = std::size_t(1) << 24;
    const std::uint64_t wanted = payload_size + 4;
    for (;;) {
      const std::size_t before = bytes.size();
      const std::uint64_t left = wanted + 1 - before;  // one more, to notice trailing bytes
      const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(left, kStep));
      if (step == 0) break;
      bytes.resize(before + step);
      const std::size_t got = std::fread(bytes.data() + before, 1, step, file);
      bytes.resize(before + got);
      if (std::ferror(file)) fail("cannot read model file ", what, ": ", std::strerror(errno));
      if (got < step) break;
    }
    if (bytes.size() < wanted)
      fail(what, ": truncated: expected ", wanted, " bytes after the header, found ", bytes.size());
    if (bytes.size() > wanted) fail(what, ": unexpected bytes after the model");
  }
  const char* payload = bytes.data();
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, payload + payload_size, sizeof(stored_crc));
  if (crc32(payload, payload_size) != stored_crc) fail(what, ": corrupt: checksum mismatch");

  BinaryReader in(payload, payload_size, what);
  Contents<T> contents;
  contents.input_shape = Shape(read_dims(in, "input shape"));
  const auto layer_count = in.read<std::uint32_t>("layer count");
  if (layer_count == 0 || layer_count > 10000) fail(what, ": implausible layer count ", layer_count);
  Shape shape = contents.input_shape;
  Rng unused_rng(0);
  for (std::uint32_t i = 0; i < layer_count; ++i) {
    const std::string type = in.read_string("layer type", 256);
    const std::string layer_name = "layer " + std::to_string(i) + " (" + type + ")";
    std::unique_ptr<Layer<T>> layer;
    Shape output;
    try {
      layer = LayerRegistry<T>::create(type, in);
      output = layer->output_shape_for(shape);
    } catch (const Error& e) {
      const std::string message = e.what();
      if (message.rfind(what, 0) == 0) throw;  // already names the file
      fail(what, ": ", layer_name, ": ", message);
    }
    // Check the layer against the file before building it: a corrupt size must be an error, not
    // a huge allocation.
    check_plausible(output, what, layer_name + " output shape");
    const std::size_t stored_values = layer->parameter_count_for(shape);
    if (stored_values > in.remaining() / scalar_size)
      fail(what, ": layer ", i, " (", type, ") needs ", stored_values, " parameter values but only ", in.remaining(),
           " bytes are left: truncated or corrupt");
    shape = layer->build(shape, unused_rng);
    const std::string where = what + ": layer " + std::to_string(i) + " (" + type + ")";
    read_parameters(in, scalar_size, layer->parameters(), where, "parameter");
    if (version >= 2) {
      read_parameters(in, scalar_size, layer->non_trainable_parameters(), where, "non-trainable parameter");
    } else if (!layer->non_trainable_parameters().empty()) {
      fail(where, ": this layer needs format version 2, the file is version 1");
    }
    layer->read_state(in);
    contents.layers.push_back(std::move(layer));
  }
  if (in.read<std::uint8_t>("optimizer flag")) {
    const std::string type = in.read_string("optimizer type", 256);
    contents.optimizer = make_optimizer<T>(type, what);
    contents.optimizer->read_config(in);
    for (auto& layer : contents.layers) {
      for (auto* p : layer->parameters()) {
        const auto slots = in.read<std::uint32_t>("optimizer slot count");
        if (slots > 8) fail(what, ": implausible optimizer slot count ", slots);
        p->optimizer_slots.assign(slots, AlignedVector<T>(p->size()));
        for (auto& slot : p->optimizer_slots) read_values(in, scalar_size, slot.data(), slot.size(), "optimizer state");
      }
    }
  }
  contents.metadata = in.read_string("metadata", 1 << 20);
  if (in.remaining() != 0) fail(what, ": ", in.remaining(), " unexpected bytes at the end of the payload");
  return contents;
}

}  // namespace model_file
}  // namespace minidnn
