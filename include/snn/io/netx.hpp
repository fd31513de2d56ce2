#pragma once
/// \file
/// NetX hdf5 files (reference/lava.md §5-§6): write a chain of CUBA dense / conv / flatten
/// blocks with exactly the groups, datasets, dtypes and (no) attributes lava-dl's
/// `export_hdf5` writes, so that Lava's `netx.hdf5.Network` builds it; read such files back,
/// including the ones lava-dl wrote.
///
/// Optional component: needs the HDF5 C library (Debian: libhdf5-dev). Link the CMake target
/// snn::netx (snn's build defines it when find_package(HDF5 COMPONENTS C) succeeds); the rest
/// of snn stays header-only without it.
///
/// Layout written, per layer i under /layer/i:
///   type      fixed-length ASCII string |S10, null-padded, shape (1,)   b'dense' b'conv' b'flatten'
///   shape     int64 (n,), torch order: dense [out], conv [C, H, W], flatten [C*H*W, 1, 1]
///   dense:    inFeatures, outFeatures int64 scalars; weight float32 [out, in]
///   conv:     inChannels, outChannels, groups int64 scalars; kernelSize, stride, padding,
///             dilation int64 (2,) in (H, W) order; weight float32 [out, in/groups, kH, kW]
///   optional  bias float32 [out], delay float32 [out]
///   neuron/   type (variable-length UTF-8 string scalar b'CUBA'), iDecay, vDecay, vThMant,
///             refDelay int64 scalars (iDecay/vDecay int64 [C] for per-channel decays),
///             gradedSpike HDF5 enum bool (int8 FALSE=0 TRUE=1, h5py's numpy bool) scalar

#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "snn/core/error.hpp"
#include "snn/emu/lava/network.hpp"

namespace snn {
namespace io {

namespace netx_detail {

/// Owns one HDF5 identifier; `close` is the matching H5*close function.
class handle {
public:
    handle() = default;
    handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    handle(handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
    handle& operator=(handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = o.id_;
            close_ = o.close_;
            o.id_ = H5I_INVALID_HID;
        }
        return *this;
    }
    ~handle() { reset(); }
    hid_t get() const { return id_; }
    bool valid() const { return id_ >= 0; }

private:
    void reset() {
        if (id_ >= 0 && close_) close_(id_);
        id_ = H5I_INVALID_HID;
    }
    hid_t id_ = H5I_INVALID_HID;
    herr_t (*close_)(hid_t) = nullptr;
};

/// Silences HDF5's own error printing while snn turns failures into exceptions.
class quiet_errors {
public:
    quiet_errors() {
        H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    quiet_errors(const quiet_errors&) = delete;
    quiet_errors& operator=(const quiet_errors&) = delete;
    ~quiet_errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

private:
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
};

inline hid_t checked(hid_t id, const std::string& what) {
    if (id < 0) throw io_error("netx: " + what + " failed");
    return id;
}

inline void checked_status(herr_t status, const std::string& what) {
    if (status < 0) throw io_error("netx: " + what + " failed");
}

// ----- writing --------------------------------------------------------------------------------

inline handle make_group(hid_t parent, const std::string& name) {
    return handle(checked(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating group " + name), H5Gclose);
}

inline handle make_space(const std::vector<hsize_t>& dims) {
    if (dims.empty()) return handle(checked(H5Screate(H5S_SCALAR), "scalar dataspace"), H5Sclose);
    return handle(checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "dataspace"), H5Sclose);
}

inline void write_dataset(hid_t parent, const std::string& name, hid_t file_type, hid_t memory_type, const std::vector<hsize_t>& dims,
                          const void* data) {
    const handle space = make_space(dims);
    const handle set(checked(H5Dcreate2(parent, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                             "creating dataset " + name),
                     H5Dclose);
    checked_status(H5Dwrite(set.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "writing dataset " + name);
}

inline void write_int64(hid_t parent, const std::string& name, const std::vector<std::int64_t>& values, bool scalar) {
    write_dataset(parent, name, H5T_STD_I64LE, H5T_NATIVE_INT64, scalar ? std::vector<hsize_t>{} : std::vector<hsize_t>{values.size()},
                  values.data());
}

inline void write_float32(hid_t parent, const std::string& name, const std::vector<float>& values, const std::vector<hsize_t>& dims) {
    write_dataset(parent, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, values.data());
}

/// `type`: numpy |S10 (fixed length 10, null padded, ASCII), shape (1,).
inline void write_layer_type(hid_t parent, const std::string& value) {
    require(value.size() <= 10, "type", "longer than 10 characters");
    const handle type(checked(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
    checked_status(H5Tset_size(type.get(), 10), "string size");
    checked_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "string padding");
    checked_status(H5Tset_cset(type.get(), H5T_CSET_ASCII), "string charset");
    char buffer[10] = {};
    for (std::size_t i = 0; i < value.size(); ++i) buffer[i] = value[i];
    write_dataset(parent, "type", type.get(), type.get(), {1}, buffer);
}

/// `neuron/type`: a variable-length UTF-8 string scalar, as h5py writes a Python str.
inline void write_vlen_string(hid_t parent, const std::string& name, const std::string& value) {
    const handle type(checked(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
    checked_status(H5Tset_size(type.get(), H5T_VARIABLE), "variable string size");
    checked_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string charset");
    checked_status(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), "string padding");
    const char* pointer = value.c_str();
    write_dataset(parent, name, type.get(), type.get(), {}, &pointer);
}

/// h5py's numpy bool: an enum over int8 {FALSE = 0, TRUE = 1}.
inline handle bool_type() {
    handle type(checked(H5Tenum_create(H5T_NATIVE_INT8), "bool enum type"), H5Tclose);
    const std::int8_t no = 0, yes = 1;
    checked_status(H5Tenum_insert(type.get(), "FALSE", &no), "bool enum FALSE");
    checked_status(H5Tenum_insert(type.get(), "TRUE", &yes), "bool enum TRUE");
    return type;
}

inline std::vector<float> as_float(const std::vector<std::int32_t>& v) { return std::vector<float>(v.begin(), v.end()); }

inline std::vector<std::int64_t> as_int64(const std::vector<std::int32_t>& v) { return std::vector<std::int64_t>(v.begin(), v.end()); }

// ----- reading --------------------------------------------------------------------------------

/// Frees the strings HDF5 allocated for a variable-length read (H5Treclaim from HDF5 1.12 on).
inline void reclaim_vlen(hid_t memory_type, hid_t space, void* buffer) {
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(memory_type, space, H5P_DEFAULT, buffer);
#else
    H5Dvlen_reclaim(memory_type, space, H5P_DEFAULT, buffer);
#endif
}

inline bool exists(hid_t parent, const std::string& name) { return H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0; }

/// A dataset's class, dimensions and handle.
struct dataset_info {
    handle set;
    H5T_class_t type_class = H5T_NO_CLASS;
    std::vector<hsize_t> dims;
    std::size_t count = 1;
};

inline dataset_info open_dataset(hid_t parent, const std::string& name, const std::string& where) {
    if (!exists(parent, name)) throw invalid_argument(where + "/" + name, "missing");
    dataset_info d;
    d.set = handle(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.set.valid()) throw invalid_argument(where + "/" + name, "is not a dataset");
    const handle type(checked(H5Dget_type(d.set.get()), "dataset type"), H5Tclose);
    d.type_class = H5Tget_class(type.get());
    const handle space(checked(H5Dget_space(d.set.get()), "dataspace"), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) throw invalid_argument(where + "/" + name, "unreadable dataspace");
    d.dims.resize(static_cast<std::size_t>(rank));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), d.dims.data(), nullptr);
    for (const auto n : d.dims) d.count *= static_cast<std::size_t>(n);
    return d;
}

/// An integer dataset (scalar or array) as int64.
inline std::vector<std::int64_t> read_int64(hid_t parent, const std::string& name, const std::string& where) {
    dataset_info d = open_dataset(parent, name, where);
    if (d.type_class != H5T_INTEGER) throw invalid_argument(where + "/" + name, "must be an integer dataset");
    std::vector<std::int64_t> v(d.count);
    checked_status(H5Dread(d.set.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "reading " + where + "/" + name);
    return v;
}

inline std::int64_t read_int64_scalar(hid_t parent, const std::string& name, const std::string& where) {
    const auto v = read_int64(parent, name, where);
    if (v.size() != 1) throw invalid_argument(where + "/" + name, "must be a single integer, has " + std::to_string(v.size()));
    return v[0];
}

/// A float (or integer) dataset as int32 by truncation, as NetX's `.astype(int)`; values must be
/// finite and fit int32.
inline std::vector<std::int32_t> read_truncated(hid_t parent, const std::string& name, const std::string& where,
                                                std::vector<hsize_t>* dims = nullptr) {
    dataset_info d = open_dataset(parent, name, where);
    if (d.type_class != H5T_FLOAT && d.type_class != H5T_INTEGER)
        throw invalid_argument(where + "/" + name, "must be a numeric dataset (NetX reads it with .astype(int))");
    std::vector<double> v(d.count);
    checked_status(H5Dread(d.set.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "reading " + where + "/" + name);
    std::vector<std::int32_t> r(d.count);
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i]) || std::fabs(v[i]) >= 2147483648.0)
            throw invalid_argument(where + "/" + name, "element " + std::to_string(i) + " is not a finite int32 value");
        r[i] = static_cast<std::int32_t>(std::trunc(v[i]));
    }
    if (dims) *dims = d.dims;
    return r;
}

/// A string dataset: fixed or variable length, scalar or shape (1,) (NetX takes element 0).
inline std::string read_string(hid_t parent, const std::string& name, const std::string& where) {
    dataset_info d = open_dataset(parent, name, where);
    if (d.type_class != H5T_STRING) throw invalid_argument(where + "/" + name, "must be a string dataset");
    if (d.count < 1) throw invalid_argument(where + "/" + name, "is empty");
    const handle file_type(checked(H5Dget_type(d.set.get()), "string type"), H5Tclose);
    const bool variable = H5Tis_variable_str(file_type.get()) > 0;
    if (variable) {
        const handle mem(checked(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
        checked_status(H5Tset_size(mem.get(), H5T_VARIABLE), "string size");
        checked_status(H5Tset_cset(mem.get(), H5Tget_cset(file_type.get())), "string charset");
        std::vector<char*> values(d.count, nullptr);
        checked_status(H5Dread(d.set.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "reading " + where + "/" + name);
        const std::string s = values[0] ? values[0] : "";
        const handle space(checked(H5Dget_space(d.set.get()), "dataspace"), H5Sclose);
        reclaim_vlen(mem.get(), space.get(), values.data());
        return s;
    }
    const std::size_t size = H5Tget_size(file_type.get());
    std::vector<char> buffer(size * d.count + 1, '\0');
    checked_status(H5Dread(d.set.get(), file_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), "reading " + where + "/" + name);
    std::string s(buffer.data(), size);
    return s.substr(0, s.find('\0'));
}

/// gradedSpike: h5py bool enum (or any integer); nonzero is true.
inline bool read_bool(hid_t parent, const std::string& name, const std::string& where) {
    dataset_info d = open_dataset(parent, name, where);
    if (d.type_class != H5T_ENUM && d.type_class != H5T_INTEGER) throw invalid_argument(where + "/" + name, "must be a bool (enum) dataset");
    if (d.count != 1) throw invalid_argument(where + "/" + name, "must be a scalar");
    std::int8_t value = 0;
    if (d.type_class == H5T_ENUM) {
        const handle type = bool_type();
        checked_status(H5Dread(d.set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "reading " + where + "/" + name);
    } else {
        checked_status(H5Dread(d.set.get(), H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "reading " + where + "/" + name);
    }
    return value != 0;
}

inline std::vector<std::int32_t> narrow_decays(const std::vector<std::int64_t>& v, const std::string& where) {
    std::vector<std::int32_t> r;
    for (const auto d : v) {
        if (d < 0 || d > 4096) throw invalid_argument(where, "decay " + std::to_string(d) + " outside [0, 4096]");
        r.push_back(static_cast<std::int32_t>(d));
    }
    if (r.empty()) throw invalid_argument(where, "is empty");
    return r;
}

inline lava::cuba_neuron_desc read_neuron(hid_t layer, const std::string& where) {
    const std::string at = where + "/neuron";
    if (!exists(layer, "neuron")) throw invalid_argument(at, "missing (snn reads dense and conv layers with a CUBA neuron)");
    const handle group(checked(H5Gopen2(layer, "neuron", H5P_DEFAULT), "opening " + at), H5Gclose);
    const std::string type = read_string(group.get(), "type", at);
    if (type != "CUBA" && type != "LOIHI") throw invalid_argument(at + "/type", "unsupported neuron '" + type + "' (snn reads CUBA and LOIHI)");
    lava::cuba_neuron_desc n;
    n.i_decay = narrow_decays(read_int64(group.get(), "iDecay", at), at + "/iDecay");
    n.v_decay = narrow_decays(read_int64(group.get(), "vDecay", at), at + "/vDecay");
    n.v_th_mant = read_int64_scalar(group.get(), "vThMant", at);
    n.ref_delay = exists(group.get(), "refDelay") ? read_int64_scalar(group.get(), "refDelay", at) : 1;
    n.graded_spike = exists(group.get(), "gradedSpike") ? read_bool(group.get(), "gradedSpike", at) : false;
    return n;
}

inline std::vector<std::int64_t> to_shape(const std::vector<std::int64_t>& v, const std::string& where) {
    for (const auto d : v)
        if (d <= 0) throw invalid_argument(where, "dimensions must be positive");
    if (v.empty()) throw invalid_argument(where, "is empty");
    return v;
}

}  // namespace netx_detail

/// Writes `net` as a NetX hdf5 file (overwriting `path`). Throws invalid_argument for a network
/// NetX cannot express (check_network) and io_error when HDF5 fails.
inline void write_netx(const std::string& path, const lava::network_desc& net) {
    using namespace netx_detail;
    lava::check_network(net);
    const quiet_errors quiet;
    const handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.valid()) throw io_error("netx: cannot create '" + path + "'");
    const handle layers = make_group(file.get(), "layer");
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        const lava::layer_desc& L = net.layers[l];
        const handle g = make_group(layers.get(), std::to_string(l));
        if (L.kind == lava::layer_kind::flatten) {
            write_layer_type(g.get(), "flatten");
            write_int64(g.get(), "shape", {lava::element_count(L.out_shape), 1, 1}, false);
            continue;
        }
        const std::int64_t out = L.out_shape[0];
        if (L.kind == lava::layer_kind::dense) {
            write_layer_type(g.get(), "dense");
            write_int64(g.get(), "shape", {out}, false);
            write_int64(g.get(), "inFeatures", {lava::element_count(L.in_shape)}, true);
            write_int64(g.get(), "outFeatures", {out}, true);
            write_float32(g.get(), "weight", as_float(L.weight), {static_cast<hsize_t>(out), static_cast<hsize_t>(lava::element_count(L.in_shape))});
        } else {
            const lava::conv2d_geometry& c = L.conv;
            write_layer_type(g.get(), "conv");
            write_int64(g.get(), "shape", L.out_shape, false);
            write_int64(g.get(), "inChannels", {c.in_channels}, true);
            write_int64(g.get(), "outChannels", {c.out_channels}, true);
            write_int64(g.get(), "kernelSize", {c.kernel_h, c.kernel_w}, false);
            write_int64(g.get(), "stride", {c.stride_h, c.stride_w}, false);
            write_int64(g.get(), "padding", {c.pad_h, c.pad_w}, false);
            write_int64(g.get(), "dilation", {c.dilation_h, c.dilation_w}, false);
            write_int64(g.get(), "groups", {c.groups}, true);
            write_float32(g.get(), "weight", as_float(L.weight),
                          {static_cast<hsize_t>(c.out_channels), static_cast<hsize_t>(c.in_channels / c.groups), static_cast<hsize_t>(c.kernel_h),
                           static_cast<hsize_t>(c.kernel_w)});
        }
        if (!L.bias.empty()) write_float32(g.get(), "bias", as_float(L.bias), {L.bias.size()});
        if (!L.delay.empty()) write_float32(g.get(), "delay", as_float(L.delay), {L.delay.size()});
        const handle n = make_group(g.get(), "neuron");
        write_vlen_string(n.get(), "type", "CUBA");
        write_int64(n.get(), "iDecay", as_int64(L.neuron.i_decay), L.neuron.i_decay.size() == 1);
        write_int64(n.get(), "vDecay", as_int64(L.neuron.v_decay), L.neuron.v_decay.size() == 1);
        write_int64(n.get(), "vThMant", {L.neuron.v_th_mant}, true);
        write_int64(n.get(), "refDelay", {L.neuron.ref_delay}, true);
        const handle bt = bool_type();
        const std::int8_t graded = L.neuron.graded_spike ? 1 : 0;
        write_dataset(n.get(), "gradedSpike", bt.get(), bt.get(), {}, &graded);
    }
    checked_status(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flushing '" + path + "'");
}

/// Reads a NetX hdf5 file (lava-dl's or snn's). `input_shape` (torch order) is needed only when
/// the first layer is a conv whose input size the file does not state (NetX takes it from the
/// caller too); empty: derived from the first layer (stride-1-exact for conv). An `input` layer
/// without a neuron sets the input shape. Unsupported layer types (pool, convT, unpool,
/// average, dense_rec, complex weights, input with a neuron) raise invalid_argument naming the
/// layer.
inline lava::network_desc read_netx(const std::string& path, std::vector<std::int64_t> input_shape = {}) {
    using namespace netx_detail;
    const quiet_errors quiet;
    if (H5Fis_hdf5(path.c_str()) <= 0) throw invalid_argument(path, "is not an HDF5 file (or cannot be read)");
    const handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!file.valid()) throw io_error("netx: cannot open '" + path + "'");
    if (!exists(file.get(), "layer")) throw invalid_argument(path, "has no 'layer' group (not a NetX network file)");
    const handle layers(checked(H5Gopen2(file.get(), "layer", H5P_DEFAULT), "opening /layer"), H5Gclose);
    lava::network_desc net;
    std::vector<std::int64_t> shape = input_shape;
    for (std::size_t l = 0;; ++l) {
        const std::string name = std::to_string(l);
        if (!exists(layers.get(), name)) break;
        const std::string where = path + ": layer/" + name;
        const handle g(checked(H5Gopen2(layers.get(), name.c_str(), H5P_DEFAULT), "opening " + where), H5Gclose);
        const std::string type = read_string(g.get(), "type", where);
        lava::layer_desc L;
        if (type == "input") {
            if (exists(g.get(), "neuron")) throw invalid_argument(where, "input layers with a neuron are not supported");
            if (l != 0) throw invalid_argument(where, "an input layer must come first");
            shape = to_shape(read_int64(g.get(), "shape", where), where + "/shape");
            continue;
        }
        if (type == "flatten") {
            if (shape.empty()) throw invalid_argument(where, "a flatten layer cannot come first");
            L.kind = lava::layer_kind::flatten;
            L.has_neuron = false;
            L.in_shape = shape;
            const auto s = to_shape(read_int64(g.get(), "shape", where), where + "/shape");
            L.out_shape = {lava::element_count(s)};
        } else if (type == "dense") {
            if (exists(g.get(), "weight") && exists(g.get(), "weight/real"))
                throw invalid_argument(where, "complex dense weights (weight/real, weight/imag) are not supported");
            L.kind = lava::layer_kind::dense;
            const std::int64_t in = read_int64_scalar(g.get(), "inFeatures", where);
            const std::int64_t out = read_int64_scalar(g.get(), "outFeatures", where);
            if (in <= 0 || out <= 0) throw invalid_argument(where, "inFeatures and outFeatures must be positive");
            L.in_shape = {in};
            L.out_shape = {out};
            std::vector<hsize_t> dims;
            L.weight = read_truncated(g.get(), "weight", where, &dims);
            if (dims.size() != 2 || static_cast<std::int64_t>(dims[0]) != out || static_cast<std::int64_t>(dims[1]) != in)
                throw invalid_argument(where + "/weight", "must be [outFeatures, inFeatures] = [" + std::to_string(out) + ", " + std::to_string(in) + "]");
            if (shape.empty()) shape = {in};
        } else if (type == "conv") {
            L.kind = lava::layer_kind::conv;
            lava::conv2d_geometry& c = L.conv;
            c.in_channels = read_int64_scalar(g.get(), "inChannels", where);
            c.out_channels = read_int64_scalar(g.get(), "outChannels", where);
            c.groups = exists(g.get(), "groups") ? read_int64_scalar(g.get(), "groups", where) : 1;
            const auto pair = [&](const char* key) {
                const auto v = read_int64(g.get(), key, where);
                if (v.size() != 2) throw invalid_argument(where + "/" + key, "must hold (H, W)");
                return v;
            };
            const auto k = pair("kernelSize"), s = pair("stride"), p = pair("padding"), d = pair("dilation");
            c.kernel_h = k[0], c.kernel_w = k[1], c.stride_h = s[0], c.stride_w = s[1];
            c.pad_h = p[0], c.pad_w = p[1], c.dilation_h = d[0], c.dilation_w = d[1];
            L.out_shape = to_shape(read_int64(g.get(), "shape", where), where + "/shape");
            if (L.out_shape.size() != 3) throw invalid_argument(where + "/shape", "conv shape must be [C, H, W]");
            if (shape.empty()) {
                // Smallest input giving this output (exact for stride 1).
                shape = {c.in_channels, (L.out_shape[1] - 1) * c.stride_h - 2 * c.pad_h + c.dilation_h * (c.kernel_h - 1) + 1,
                         (L.out_shape[2] - 1) * c.stride_w - 2 * c.pad_w + c.dilation_w * (c.kernel_w - 1) + 1};
            }
            if (shape.size() != 3) throw invalid_argument(where, "a conv layer needs a [C, H, W] input");
            L.in_shape = shape;
            c.in_h = shape[1];
            c.in_w = shape[2];
            std::vector<hsize_t> dims;
            L.weight = read_truncated(g.get(), "weight", where, &dims);
            if (dims.size() != 4) throw invalid_argument(where + "/weight", "must be [out, in/groups, kH, kW]");
            c.check();
            if (static_cast<std::int64_t>(dims[0]) != c.out_channels || static_cast<std::int64_t>(dims[1]) * c.groups != c.in_channels ||
                static_cast<std::int64_t>(dims[2]) != c.kernel_h || static_cast<std::int64_t>(dims[3]) != c.kernel_w)
                throw invalid_argument(where + "/weight", "shape does not match inChannels/outChannels/groups/kernelSize");
        } else {
            throw invalid_argument(where + "/type", "unsupported layer type '" + type + "' (snn reads input, dense, conv, flatten)");
        }
        if (L.kind != lava::layer_kind::flatten) {
            if (exists(g.get(), "bias")) L.bias = read_truncated(g.get(), "bias", where);
            if (exists(g.get(), "delay")) L.delay = read_truncated(g.get(), "delay", where);
            L.neuron = read_neuron(g.get(), where);
        }
        if (net.layers.empty()) net.input_shape = shape;
        shape = L.out_shape;
        net.layers.push_back(std::move(L));
    }
    if (net.layers.empty()) throw invalid_argument(path, "has no layers under /layer");
    lava::check_network(net);
    return net;
}

}  // namespace io
}  // namespace snn
