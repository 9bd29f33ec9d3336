#pragma once
/// \file
/// The model file: one binary file holding a whole model, optionally with its optimizer state
/// (a training checkpoint).
///
///     offset  field
///     0       magic "MDNN"
///     4       u32 format version (2 for Sequential models, 3 for functional graphs; 1 still loads)
///     8       u32 scalar size of the stored values (4 = float32, 8 = float64, 2 = float16:
///             weights only, written by Model::save_float16 to halve a file that ships)
///     12      u64 payload size P
///     20      payload (P bytes):
///               input shape (u32 rank, i32 dims...)
///               [v1, v2: a chain of layers]
///               u32 layer count; per layer: a layer record
///               [v3: a functional graph; node 0 is the input]
///               u32 node count N; per node k = 1..N: u32 input count m, m x u32 input node
///               (each < k); if m == 1 a layer record, else a merge layer's type string ("Add",
///               "Concatenate"); then u32 output node
///               [all versions]
///               u8 has_optimizer; if 1: type string, optimizer config, per parameter (in layer
///               order) its slots
///               metadata string (free-form key=value lines for tools, e.g. the epoch reached)
///     20+P    u32 CRC-32 of the payload
///
/// A layer record: type string, hyperparameters (the layer's write_config), u32 parameter count,
/// per parameter: name, u32 rank, i32 dims, values; [v2+] u32 non-trainable parameter count, each
/// stored as a parameter is (BatchNormalization's moving mean and variance); then the layer's
/// state (write_state).
///
/// Version 1 (before the layers of format 2) has no non-trainable block; it is read as having
/// none, and a layer that needs one is refused in a version-1 file. Sequential still writes
/// version 2, so its files load in builds that predate graphs; Model<T>::load reads all three
/// versions (a chain as input -> layer 1 -> ... -> layer n), Sequential::load versions 1 and 2.
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

#include "minidnn/core/float16.hpp"
#include "minidnn/io/atomic_file.hpp"
#include "minidnn/io/binary_io.hpp"
#include "minidnn/layers/merge.hpp"
#include "minidnn/layers/registry.hpp"
#include "minidnn/optim/adam.hpp"
#include "minidnn/optim/sgd.hpp"

namespace minidnn {

namespace model_file {

constexpr char kMagic[4] = {'M', 'D', 'N', 'N'};
/// The newest format version this build reads and writes: 3, for functional graphs.
constexpr std::uint32_t kVersion = 3;
/// Sequential models are written in version 2 (a chain of layers), which every build since
/// format 2 reads; functional graphs in version 3.
constexpr std::uint32_t kSequentialVersion = 2;
constexpr std::uint32_t kGraphVersion = 3;
/// The oldest format version load() still reads.
constexpr std::uint32_t kOldestVersion = 1;
constexpr std::size_t kHeaderSize = 20;
/// No model file's payload may be larger than this (1 TiB): keeps the size arithmetic exact.
constexpr std::uint64_t kMaxPayloadBytes = std::uint64_t(1) << 40;
/// Bounds on what a corrupt file may claim: layers (or graph nodes) and inputs of one node.
constexpr std::uint32_t kMaxLayers = 10000;
constexpr std::uint32_t kMaxNodeInputs = 1024;

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
  if (stored_size == 2) {
    std::vector<std::uint16_t> tmp(count);
    in.read_array(tmp.data(), count, field.c_str());
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(half_bits_to_float(tmp[i]));
  } else if (stored_size == 4) {
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

/// Writes `count` values as `stored_size`-byte scalars: as they are, or (2) rounded to float16,
/// refusing a value the half range cannot hold (`field` names it).
template <typename T>
void write_values(BinaryWriter& out, const T* values, std::size_t count, std::uint32_t stored_size,
                  const std::string& field) {
  if (stored_size == sizeof(T)) {
    out.write_array(values, count);
    return;
  }
  if (stored_size != 2) fail("model file: cannot store ", sizeof(T), "-byte values as ", stored_size, "-byte ones");
  std::vector<std::uint16_t> halves(count);
  for (std::size_t i = 0; i < count; ++i) {
    const float v = static_cast<float>(values[i]);
    if (!(std::fabs(v) <= kFloat16Max))
      fail("cannot store ", field, " as float16: value ", values[i], " at index ", i, " is outside +-", kFloat16Max);
    halves[i] = float_to_half_bits(v);
  }
  out.write_array(halves.data(), count);
}

/// Writes a count, then each parameter's name, shape and values.
template <typename T>
void write_parameters(BinaryWriter& out, const std::vector<Parameter<T>*>& params,
                      std::uint32_t stored_size = sizeof(T)) {
  out.write<std::uint32_t>(static_cast<std::uint32_t>(params.size()));
  for (const auto* p : params) {
    out.write_string(p->name);
    write_shape(out, p->dims);
    write_values(out, p->value.data(), p->size(), stored_size, "parameter '" + p->name + "'");
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

/// Writes one layer: its type, hyperparameters, parameters, non-trainable parameters and state.
template <typename T>
void write_layer(BinaryWriter& out, Layer<T>& layer, std::uint32_t stored_size = sizeof(T)) {
  out.write_string(layer.file_type());
  layer.write_config(out);
  write_parameters(out, layer.parameters(), stored_size);
  write_parameters(out, layer.non_trainable_parameters(), stored_size);
  layer.write_state(out);
}

/// Writes the optimizer flag and, for a checkpoint, the optimizer's type, config and the slots of
/// every parameter of `params` (in that order).
template <typename T>
void write_optimizer(BinaryWriter& out, const Optimizer<T>* optimizer, const std::vector<Parameter<T>*>& params) {
  out.write<std::uint8_t>(optimizer ? 1 : 0);
  if (!optimizer) return;
  out.write_string(optimizer->type());
  optimizer->write_config(out);
  for (const auto* p : params) {
    out.write<std::uint32_t>(static_cast<std::uint32_t>(p->optimizer_slots.size()));
    for (const auto& slot : p->optimizer_slots) out.write_array(slot.data(), slot.size());
  }
}

/// Frames a payload (magic, version, scalar size, size, CRC) and writes it atomically.
template <typename T>
void write_framed(const std::filesystem::path& path, std::uint32_t version, const BinaryWriter& payload,
                  std::uint32_t stored_size = sizeof(T)) {
  BinaryWriter file;
  std::string bytes(kMagic, 4);
  file.write<std::uint32_t>(version);
  file.write<std::uint32_t>(stored_size);
  file.write<std::uint64_t>(payload.bytes().size());
  bytes += file.bytes();
  bytes += payload.bytes();
  const std::uint32_t crc = crc32(payload.bytes().data(), payload.bytes().size());
  bytes.append(reinterpret_cast<const char*>(&crc), sizeof(crc));
  write_file_atomically(path, bytes);
}

/// Serializes a built model (and the optimizer, if given) and writes it atomically to `path`
/// (format version 2: a chain of layers).
template <typename T>
void save(const std::filesystem::path& path, const Shape& input_shape,
          const std::vector<Layer<T>*>& layers, const Optimizer<T>* optimizer,
          const std::string& metadata) {
  BinaryWriter payload;
  write_shape(payload, input_shape.dims());
  payload.write<std::uint32_t>(static_cast<std::uint32_t>(layers.size()));
  std::vector<Parameter<T>*> params;
  for (auto* layer : layers) {
    write_layer(payload, *layer);
    for (auto* p : layer->parameters()) params.push_back(p);
  }
  write_optimizer(payload, optimizer, params);
  payload.write_string(metadata);
  write_framed<T>(path, kSequentialVersion, payload);
}

/// One node of a functional graph as stored: a one-input layer or a merge (Add, Concatenate),
/// and the nodes it reads (0 is the input).
template <typename T>
struct GraphNode {
  std::unique_ptr<Layer<T>> layer;
  std::unique_ptr<MergeLayer<T>> merge;
  std::vector<int> inputs;
  Shape shape;  // per-sample output shape
};

/// What a graph model file holds, in memory. A version-1 or -2 file (a chain of layers) reads as
/// the graph input -> layer 1 -> ... -> layer n.
template <typename T>
struct GraphContents {
  Shape input_shape;
  std::vector<GraphNode<T>> nodes;  // after the input, in topological order: node k is nodes[k - 1]
  int output = -1;
  std::unique_ptr<Optimizer<T>> optimizer;
  std::string metadata;
};

/// Serializes a functional graph (format version 3). `nodes` follow the input in topological
/// order; node k's inputs are node indices below k. With `stored_size` 2 the weights are stored
/// as float16 (no optimizer state then: a checkpoint must resume exactly).
template <typename T>
void save_graph(const std::filesystem::path& path, const Shape& input_shape, const std::vector<GraphNode<T>*>& nodes,
                int output, const Optimizer<T>* optimizer, const std::string& metadata,
                std::uint32_t stored_size = sizeof(T)) {
  if (stored_size != sizeof(T) && optimizer) fail("model file: a checkpoint (optimizer state) is stored at full precision");
  BinaryWriter payload;
  write_shape(payload, input_shape.dims());
  payload.write<std::uint32_t>(static_cast<std::uint32_t>(nodes.size()));
  std::vector<Parameter<T>*> params;
  for (const auto* node : nodes) {
    payload.write<std::uint32_t>(static_cast<std::uint32_t>(node->inputs.size()));
    for (int i : node->inputs) payload.write<std::uint32_t>(static_cast<std::uint32_t>(i));
    if (node->layer) {
      write_layer(payload, *node->layer, stored_size);
      for (auto* p : node->layer->parameters()) params.push_back(p);
    } else {
      payload.write_string(node->merge->type());
    }
  }
  payload.write<std::uint32_t>(static_cast<std::uint32_t>(output));
  write_optimizer(payload, optimizer, params);
  payload.write_string(metadata);
  write_framed<T>(path, kGraphVersion, payload, stored_size);
}

/// The payload of a model file, checked: magic, version, scalar size, size and checksum.
struct Payload {
  std::string bytes;  // the payload, then its 4-byte CRC
  std::uint64_t size = 0;
  std::uint32_t version = 0;
  std::uint32_t scalar_size = 0;
};

inline Payload read_payload(const std::filesystem::path& path) {
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
  Payload result;
  result.version = header.read<std::uint32_t>("format version");
  if (result.version < kOldestVersion || result.version > kVersion)
    fail(what, ": unsupported format version ", result.version, " (this build reads versions ", kOldestVersion,
         " to ", kVersion, ")");
  result.scalar_size = header.read<std::uint32_t>("scalar size");
  if (result.scalar_size != 2 && result.scalar_size != 4 && result.scalar_size != 8)
    fail(what, ": invalid scalar size ", result.scalar_size, " (2, 4 or 8)");
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
  std::string& bytes = result.bytes;
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
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + payload_size, sizeof(stored_crc));
  if (crc32(bytes.data(), payload_size) != stored_crc) fail(what, ": corrupt: checksum mismatch");
  result.size = payload_size;
  return result;
}

/// Reads one layer (type, hyperparameters, weights, state) whose input has per-sample `shape`,
/// and builds it. `label` names it in errors ("layer 3", "node 5").
template <typename T>
std::unique_ptr<Layer<T>> read_layer(BinaryReader& in, const Payload& file, const Shape& shape,
                                     const std::string& label) {
  const std::string& what = in.what();
  const std::string type = in.read_string("layer type", 256);
  const std::string layer_name = label + " (" + type + ")";
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
  if (stored_values > in.remaining() / file.scalar_size)
    fail(what, ": ", layer_name, " needs ", stored_values, " parameter values but only ", in.remaining(),
         " bytes are left: truncated or corrupt");
  Rng unused_rng(0);
  layer->build(shape, unused_rng);
  const std::string where = what + ": " + layer_name;
  read_parameters(in, file.scalar_size, layer->parameters(), where, "parameter");
  if (file.version >= 2) {
    read_parameters(in, file.scalar_size, layer->non_trainable_parameters(), where, "non-trainable parameter");
  } else if (!layer->non_trainable_parameters().empty()) {
    fail(where, ": this layer needs format version 2, the file is version 1");
  }
  layer->read_state(in);
  return layer;
}

/// Reads the optimizer flag and, for a checkpoint, the optimizer and the slots of `params`.
template <typename T>
std::unique_ptr<Optimizer<T>> read_optimizer(BinaryReader& in, const Payload& file,
                                             const std::vector<Parameter<T>*>& params) {
  if (!in.read<std::uint8_t>("optimizer flag")) return nullptr;
  const std::string type = in.read_string("optimizer type", 256);
  auto optimizer = make_optimizer<T>(type, in.what());
  optimizer->read_config(in);
  for (auto* p : params) {
    const auto slots = in.read<std::uint32_t>("optimizer slot count");
    if (slots > 8) fail(in.what(), ": implausible optimizer slot count ", slots);
    p->optimizer_slots.assign(slots, AlignedVector<T>(p->size()));
    for (auto& slot : p->optimizer_slots) read_values(in, file.scalar_size, slot.data(), slot.size(), "optimizer state");
  }
  return optimizer;
}

/// Reads the layers of a version-1 or -2 file (a chain) after the input shape.
template <typename T>
std::vector<std::unique_ptr<Layer<T>>> read_chain(BinaryReader& in, const Payload& file, const Shape& input_shape) {
  const auto layer_count = in.read<std::uint32_t>("layer count");
  if (layer_count == 0 || layer_count > kMaxLayers) fail(in.what(), ": implausible layer count ", layer_count);
  std::vector<std::unique_ptr<Layer<T>>> layers;
  Shape shape = input_shape;
  for (std::uint32_t i = 0; i < layer_count; ++i) {
    layers.push_back(read_layer<T>(in, file, shape, "layer " + std::to_string(i)));
    shape = layers.back()->output_shape();
  }
  return layers;
}

inline void check_end(BinaryReader& in) {
  if (in.remaining() != 0) fail(in.what(), ": ", in.remaining(), " unexpected bytes at the end of the payload");
}

template <typename T>
std::vector<Parameter<T>*> parameters_of(const std::vector<std::unique_ptr<Layer<T>>>& layers) {
  std::vector<Parameter<T>*> params;
  for (const auto& layer : layers)
    for (auto* p : layer->parameters()) params.push_back(p);
  return params;
}

/// Reads and checks a whole model file of a chain of layers (version 1 or 2). The returned
/// layers are built and hold the weights. A graph file (version 3) is refused: Model<T>::load
/// reads it.
template <typename T>
Contents<T> load(const std::filesystem::path& path) {
  const Payload file = read_payload(path);
  if (file.version == kGraphVersion)
    fail(path.string(), ": holds a functional graph (format version ", kGraphVersion,
         "), not a Sequential model: load it with Model<T>::load");
  BinaryReader in(file.bytes.data(), file.size, path.string());
  Contents<T> contents;
  contents.input_shape = Shape(read_dims(in, "input shape"));
  contents.layers = read_chain<T>(in, file, contents.input_shape);
  contents.optimizer = read_optimizer<T>(in, file, parameters_of(contents.layers));
  contents.metadata = in.read_string("metadata", 1 << 20);
  check_end(in);
  return contents;
}

/// The merge layer of a graph file's type tag.
template <typename T>
std::unique_ptr<MergeLayer<T>> make_merge(const std::string& type, const std::string& where) {
  if (type == "Add") return std::make_unique<Add<T>>();
  if (type == "Concatenate") return std::make_unique<Concatenate<T>>();
  fail(where, ": unknown merge layer type '", type, "'");
}

/// Reads and checks a model file as a functional graph: a graph file (version 3), or a chain of
/// layers (versions 1 and 2) as the graph input -> layer 1 -> ... -> layer n. Every node is built
/// and holds its weights.
template <typename T>
GraphContents<T> load_graph(const std::filesystem::path& path) {
  const Payload file = read_payload(path);
  const std::string what = path.string();
  BinaryReader in(file.bytes.data(), file.size, what);
  GraphContents<T> contents;
  contents.input_shape = Shape(read_dims(in, "input shape"));
  std::vector<Parameter<T>*> params;
  if (file.version < kGraphVersion) {
    auto layers = read_chain<T>(in, file, contents.input_shape);
    params = parameters_of(layers);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      GraphNode<T> node;
      node.shape = layers[i]->output_shape();
      node.layer = std::move(layers[i]);
      node.inputs = {int(i)};
      contents.nodes.push_back(std::move(node));
    }
    contents.output = int(contents.nodes.size());
  } else {
    const auto node_count = in.read<std::uint32_t>("node count");
    if (node_count == 0 || node_count > kMaxLayers) fail(what, ": implausible node count ", node_count);
    for (std::uint32_t k = 1; k <= node_count; ++k) {
      const std::string label = "node " + std::to_string(k);
      GraphNode<T> node;
      const auto input_count = in.read<std::uint32_t>("node input count");
      if (input_count == 0 || input_count > kMaxNodeInputs)
        fail(what, ": ", label, ": implausible node input count ", input_count, " (1 to ", kMaxNodeInputs, ")");
      std::vector<Shape> shapes;
      for (std::uint32_t i = 0; i < input_count; ++i) {
        const auto from = in.read<std::uint32_t>("node input");
        if (from >= k)
          fail(what, ": ", label, ": node input ", from, " is not an earlier node (nodes 0 to ", k - 1, ")");
        node.inputs.push_back(int(from));
        shapes.push_back(from == 0 ? contents.input_shape : contents.nodes[from - 1].shape);
      }
      if (input_count == 1) {
        node.layer = read_layer<T>(in, file, shapes[0], label);
        node.shape = node.layer->output_shape();
        for (auto* p : node.layer->parameters()) params.push_back(p);
      } else {
        const std::string type = in.read_string("merge layer type", 256);
        node.merge = make_merge<T>(type, what + ": " + label);
        try {
          node.shape = node.merge->build(shapes);
        } catch (const Error& e) {
          fail(what, ": ", label, " (", type, "): ", e.what());
        }
        check_plausible(node.shape, what, label + " (" + type + ") output shape");
      }
      contents.nodes.push_back(std::move(node));
    }
    const auto output = in.read<std::uint32_t>("output node");
    if (output == 0 || output > node_count)
      fail(what, ": output node ", output, " is not a node of the graph (1 to ", node_count, ")");
    contents.output = int(output);
  }
  contents.optimizer = read_optimizer<T>(in, file, params);
  contents.metadata = in.read_string("metadata", 1 << 20);
  check_end(in);
  return contents;
}

}  // namespace model_file
}  // namespace minidnn
