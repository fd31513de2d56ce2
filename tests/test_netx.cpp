// Tests for snn/io/netx.hpp (only when snn::netx exists): a file written by snn is read back
// with the HDF5 C API dataset by dataset against the layout lava-dl writes (reference/lava.md
// §5), snn reads back what it wrote and what lava-dl wrote (vendored golden net.h5), and
// malformed or unsupported files give errors naming the problem.

#if SNN_TEST_HAS_NETX

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "snn/io/netx.hpp"

namespace lava = snn::lava;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const std::string& name) { return fs::temp_directory_path() / ("snn_test_netx_" + name); }

/// A chain with every feature the exporter writes: conv with per-channel decays, flatten, dense
/// with bias and axonal delays.
lava::network_desc sample_network() {
    lava::network_desc net;
    net.input_shape = {2, 4, 5};
    lava::layer_desc conv;
    conv.kind = lava::layer_kind::conv;
    conv.in_shape = {2, 4, 5};
    conv.out_shape = {3, 4, 5};
    conv.conv.in_channels = 2;
    conv.conv.out_channels = 3;
    conv.conv.in_h = 4;
    conv.conv.in_w = 5;
    conv.conv.kernel_h = 3;
    conv.conv.kernel_w = 3;
    conv.conv.pad_h = 1;
    conv.conv.pad_w = 1;
    for (int i = 0; i < 3 * 2 * 3 * 3; ++i) conv.weight.push_back(2 * ((i * 37) % 61) - 60);
    conv.neuron.i_decay = {1024, 2048, 4096};
    conv.neuron.v_decay = {123, 0, 4096};
    conv.neuron.v_th_mant = 80;
    lava::layer_desc flat;
    flat.kind = lava::layer_kind::flatten;
    flat.has_neuron = false;
    flat.in_shape = {3, 4, 5};
    flat.out_shape = {60};
    lava::layer_desc dense;
    dense.kind = lava::layer_kind::dense;
    dense.in_shape = {60};
    dense.out_shape = {4};
    for (int i = 0; i < 240; ++i) dense.weight.push_back(2 * ((i * 13) % 41) - 40);
    dense.bias = {-2, 0, 4, 6};
    dense.delay = {0, 1, 5, 62};
    dense.neuron.i_decay = {410};
    dense.neuron.v_decay = {819};
    dense.neuron.v_th_mant = 4096;
    dense.neuron.graded_spike = true;
    net.layers = {conv, flat, dense};
    return net;
}

struct h5 {
    hid_t id;
    herr_t (*close)(hid_t);
    ~h5() {
        if (id >= 0) close(id);
    }
};

/// Checks one dataset: class, element size, integer sign / string properties, shape.
void check_dataset(hid_t file, const std::string& path, H5T_class_t cls, std::size_t size, const std::vector<hsize_t>& dims) {
    CAPTURE(path);
    const h5 set{H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose};
    REQUIRE(set.id >= 0);
    CHECK(H5Aget_num_attrs(set.id) == 0);  // lava-dl writes datasets only
    const h5 type{H5Dget_type(set.id), H5Tclose};
    CHECK(H5Tget_class(type.id) == cls);
    if (cls != H5T_STRING || size != 0) CHECK(H5Tget_size(type.id) == size);
    if (cls == H5T_INTEGER) {
        CHECK(H5Tget_sign(type.id) == H5T_SGN_2);
        CHECK(H5Tget_order(type.id) == H5T_ORDER_LE);
    }
    if (cls == H5T_FLOAT) CHECK(H5Tequal(type.id, H5T_IEEE_F32LE) > 0);
    const h5 space{H5Dget_space(set.id), H5Sclose};
    const int rank = H5Sget_simple_extent_ndims(space.id);
    std::vector<hsize_t> got(static_cast<std::size_t>(rank));
    if (rank > 0) H5Sget_simple_extent_dims(space.id, got.data(), nullptr);
    CHECK(got == dims);
    if (dims.empty()) CHECK(H5Sget_simple_extent_type(space.id) == H5S_SCALAR);
}

std::vector<long long> read_ints(hid_t file, const std::string& path) {
    const h5 set{H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose};
    const h5 space{H5Dget_space(set.id), H5Sclose};
    std::vector<long long> v(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.id)));
    H5Dread(set.id, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    return v;
}

std::vector<float> read_floats(hid_t file, const std::string& path) {
    const h5 set{H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose};
    const h5 space{H5Dget_space(set.id), H5Sclose};
    std::vector<float> v(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.id)));
    H5Dread(set.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    return v;
}

void check_fixed_string(hid_t file, const std::string& path, const std::string& value) {
    CAPTURE(path);
    check_dataset(file, path, H5T_STRING, 10, {1});
    const h5 set{H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose};
    const h5 type{H5Dget_type(set.id), H5Tclose};
    CHECK(H5Tis_variable_str(type.id) == 0);
    CHECK(H5Tget_strpad(type.id) == H5T_STR_NULLPAD);
    CHECK(H5Tget_cset(type.id) == H5T_CSET_ASCII);
    char buffer[11] = {};
    H5Dread(set.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
    CHECK(std::string(buffer) == value);
}

void check_neuron(hid_t file, const std::string& at, const std::vector<long long>& i_decay, const std::vector<long long>& v_decay,
                  long long v_th, bool graded) {
    {
        const std::string path = at + "/neuron/type";
        CAPTURE(path);
        const h5 set{H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose};
        const h5 type{H5Dget_type(set.id), H5Tclose};
        CHECK(H5Tget_class(type.id) == H5T_STRING);
        CHECK(H5Tis_variable_str(type.id) > 0);
        CHECK(H5Tget_cset(type.id) == H5T_CSET_UTF8);
        const h5 space{H5Dget_space(set.id), H5Sclose};
        CHECK(H5Sget_simple_extent_type(space.id) == H5S_SCALAR);
        char* value = nullptr;
        H5Dread(set.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value);
        CHECK(std::string(value) == "CUBA");
        snn::io::netx_detail::reclaim_vlen(type.id, space.id, &value);
    }
    const auto shape_of = [](const std::vector<long long>& v) { return v.size() == 1 ? std::vector<hsize_t>{} : std::vector<hsize_t>{v.size()}; };
    check_dataset(file, at + "/neuron/iDecay", H5T_INTEGER, 8, shape_of(i_decay));
    check_dataset(file, at + "/neuron/vDecay", H5T_INTEGER, 8, shape_of(v_decay));
    check_dataset(file, at + "/neuron/vThMant", H5T_INTEGER, 8, {});
    check_dataset(file, at + "/neuron/refDelay", H5T_INTEGER, 8, {});
    check_dataset(file, at + "/neuron/gradedSpike", H5T_ENUM, 1, {});
    CHECK(read_ints(file, at + "/neuron/iDecay") == i_decay);
    CHECK(read_ints(file, at + "/neuron/vDecay") == v_decay);
    CHECK(read_ints(file, at + "/neuron/vThMant") == std::vector<long long>{v_th});
    CHECK(read_ints(file, at + "/neuron/refDelay") == std::vector<long long>{1});
    const h5 set{H5Dopen2(file, (at + "/neuron/gradedSpike").c_str(), H5P_DEFAULT), H5Dclose};
    const h5 type{H5Dget_type(set.id), H5Tclose};
    CHECK(H5Tget_nmembers(type.id) == 2);
    char name[8] = {};
    std::int8_t value = -1;
    H5Tget_member_value(type.id, 0, &value);
    H5Tenum_nameof(type.id, &value, name, sizeof name);
    CHECK(std::string(name) == "FALSE");
    CHECK(value == 0);
    std::int8_t stored = -1;
    H5Dread(set.id, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, &stored);
    CHECK(stored == (graded ? 1 : 0));
}

void write_text(const fs::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
}

/// A one-layer file with a chosen layer type and optionally no neuron, via the C API.
void write_custom(const fs::path& path, const char* type, bool with_neuron, std::vector<hsize_t> weight_dims) {
    const h5 file{H5Fcreate(path.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    const h5 layer{H5Gcreate2(file.id, "layer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
    const h5 g{H5Gcreate2(layer.id, "0", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
    snn::io::netx_detail::write_layer_type(g.id, type);
    snn::io::netx_detail::write_int64(g.id, "shape", {2}, false);
    snn::io::netx_detail::write_int64(g.id, "inFeatures", {3}, true);
    snn::io::netx_detail::write_int64(g.id, "outFeatures", {2}, true);
    std::vector<float> w(6, 2.0f);
    snn::io::netx_detail::write_float32(g.id, "weight", w, weight_dims);
    if (with_neuron) {
        const h5 n{H5Gcreate2(g.id, "neuron", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
        snn::io::netx_detail::write_vlen_string(n.id, "type", "CUBA");
        snn::io::netx_detail::write_int64(n.id, "iDecay", {0}, true);
        snn::io::netx_detail::write_int64(n.id, "vDecay", {0}, true);
        snn::io::netx_detail::write_int64(n.id, "vThMant", {10}, true);
    }
}

}  // namespace

TEST_CASE("netx: a written file has lava-dl's exact layout, dataset by dataset") {
    const fs::path path = temp_file("layout.h5");
    const lava::network_desc net = sample_network();
    snn::io::write_netx(path.string(), net);
    const h5 file{H5Fopen(path.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
    REQUIRE(file.id >= 0);

    // conv: /layer/0
    check_fixed_string(file.id, "layer/0/type", "conv");
    check_dataset(file.id, "layer/0/shape", H5T_INTEGER, 8, {3});
    CHECK(read_ints(file.id, "layer/0/shape") == std::vector<long long>{3, 4, 5});
    for (const char* scalar : {"inChannels", "outChannels", "groups"}) check_dataset(file.id, std::string("layer/0/") + scalar, H5T_INTEGER, 8, {});
    CHECK(read_ints(file.id, "layer/0/inChannels") == std::vector<long long>{2});
    CHECK(read_ints(file.id, "layer/0/outChannels") == std::vector<long long>{3});
    CHECK(read_ints(file.id, "layer/0/groups") == std::vector<long long>{1});
    for (const char* pair : {"kernelSize", "stride", "padding", "dilation"}) check_dataset(file.id, std::string("layer/0/") + pair, H5T_INTEGER, 8, {2});
    CHECK(read_ints(file.id, "layer/0/kernelSize") == std::vector<long long>{3, 3});
    CHECK(read_ints(file.id, "layer/0/padding") == std::vector<long long>{1, 1});
    CHECK(read_ints(file.id, "layer/0/stride") == std::vector<long long>{1, 1});
    CHECK(read_ints(file.id, "layer/0/dilation") == std::vector<long long>{1, 1});
    check_dataset(file.id, "layer/0/weight", H5T_FLOAT, 4, {3, 2, 3, 3});
    const auto conv_w = read_floats(file.id, "layer/0/weight");
    for (std::size_t i = 0; i < conv_w.size(); ++i) CHECK(conv_w[i] == static_cast<float>(net.layers[0].weight[i]));
    check_neuron(file.id, "layer/0", {1024, 2048, 4096}, {123, 0, 4096}, 80, false);
    CHECK(H5Lexists(file.id, "layer/0/bias", H5P_DEFAULT) == 0);

    // flatten: /layer/1
    check_fixed_string(file.id, "layer/1/type", "flatten");
    check_dataset(file.id, "layer/1/shape", H5T_INTEGER, 8, {3});
    CHECK(read_ints(file.id, "layer/1/shape") == std::vector<long long>{60, 1, 1});
    CHECK(H5Lexists(file.id, "layer/1/neuron", H5P_DEFAULT) == 0);

    // dense: /layer/2
    check_fixed_string(file.id, "layer/2/type", "dense");
    check_dataset(file.id, "layer/2/shape", H5T_INTEGER, 8, {1});
    CHECK(read_ints(file.id, "layer/2/shape") == std::vector<long long>{4});
    check_dataset(file.id, "layer/2/inFeatures", H5T_INTEGER, 8, {});
    check_dataset(file.id, "layer/2/outFeatures", H5T_INTEGER, 8, {});
    CHECK(read_ints(file.id, "layer/2/inFeatures") == std::vector<long long>{60});
    check_dataset(file.id, "layer/2/weight", H5T_FLOAT, 4, {4, 60});
    check_dataset(file.id, "layer/2/bias", H5T_FLOAT, 4, {4});
    check_dataset(file.id, "layer/2/delay", H5T_FLOAT, 4, {4});
    CHECK(read_floats(file.id, "layer/2/bias") == std::vector<float>{-2, 0, 4, 6});
    CHECK(read_floats(file.id, "layer/2/delay") == std::vector<float>{0, 1, 5, 62});
    check_neuron(file.id, "layer/2", {410}, {819}, 4096, true);
    CHECK(H5Lexists(file.id, "layer/3", H5P_DEFAULT) == 0);
    fs::remove(path);
}

TEST_CASE("netx: snn reads back what it wrote") {
    const fs::path path = temp_file("roundtrip.h5");
    const lava::network_desc net = sample_network();
    snn::io::write_netx(path.string(), net);
    const lava::network_desc back = snn::io::read_netx(path.string());
    REQUIRE(back.layers.size() == net.layers.size());
    CHECK(back.input_shape == net.input_shape);
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        CAPTURE(l);
        const auto& a = net.layers[l];
        const auto& b = back.layers[l];
        CHECK(a.kind == b.kind);
        CHECK(a.in_shape == b.in_shape);
        CHECK(a.out_shape == b.out_shape);
        CHECK(a.weight == b.weight);
        CHECK(a.bias == b.bias);
        CHECK(a.delay == b.delay);
        CHECK(a.neuron.i_decay == b.neuron.i_decay);
        CHECK(a.neuron.v_decay == b.neuron.v_decay);
        CHECK(a.neuron.v_th_mant == b.neuron.v_th_mant);
        CHECK(a.neuron.graded_spike == b.neuron.graded_spike);
    }
    fs::remove(path);
}

TEST_CASE("netx: reads a file lava-dl wrote (golden c042: conv, flatten, dense) and writes it back identically") {
    const fs::path lava_dl = fs::path(SNN_TEST_DATA_DIR) / "golden/lava/c042/net.h5";
    REQUIRE(fs::exists(lava_dl));
    const lava::network_desc net = snn::io::read_netx(lava_dl.string());
    REQUIRE(net.layers.size() == 3);
    CHECK(net.input_shape == std::vector<std::int64_t>{2, 6, 8});
    CHECK(net.layers[0].kind == lava::layer_kind::conv);
    CHECK(net.layers[0].out_shape == std::vector<std::int64_t>{3, 6, 8});
    CHECK(net.layers[0].neuron.i_decay == std::vector<std::int32_t>{2048});
    CHECK(net.layers[0].neuron.v_th_mant == 32);
    CHECK(net.layers[1].kind == lava::layer_kind::flatten);
    CHECK(net.layers[2].kind == lava::layer_kind::dense);
    CHECK(net.layers[2].in_shape == std::vector<std::int64_t>{144});
    CHECK(net.layers[2].neuron.v_decay == std::vector<std::int32_t>{410});
    // snn's file of the same network holds the same datasets with the same values.
    const fs::path path = temp_file("rewrite.h5");
    snn::io::write_netx(path.string(), net);
    const h5 ours{H5Fopen(path.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
    const h5 theirs{H5Fopen(lava_dl.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
    for (const char* name : {"layer/0/shape", "layer/0/kernelSize", "layer/0/stride", "layer/0/padding", "layer/0/dilation", "layer/0/groups",
                             "layer/0/inChannels", "layer/0/outChannels", "layer/0/neuron/iDecay", "layer/0/neuron/vDecay",
                             "layer/0/neuron/vThMant", "layer/0/neuron/refDelay", "layer/1/shape", "layer/2/shape", "layer/2/inFeatures",
                             "layer/2/outFeatures", "layer/2/neuron/vThMant"}) {
        CAPTURE(name);
        CHECK(read_ints(ours.id, name) == read_ints(theirs.id, name));
    }
    CHECK(read_floats(ours.id, "layer/0/weight") == read_floats(theirs.id, "layer/0/weight"));
    CHECK(read_floats(ours.id, "layer/2/weight") == read_floats(theirs.id, "layer/2/weight"));
    fs::remove(path);
}

TEST_CASE("netx: malformed and unsupported files give clear errors") {
    const fs::path not_h5 = temp_file("not.h5");
    write_text(not_h5, "this is not hdf5");
    CHECK_THROWS_WITH_AS(snn::io::read_netx(not_h5.string()), doctest::Contains("not an HDF5 file"), snn::invalid_argument);
    CHECK_THROWS_AS(snn::io::read_netx(temp_file("missing.h5").string()), snn::invalid_argument);

    const fs::path empty = temp_file("empty.h5");
    { const h5 f{H5Fcreate(empty.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose}; }
    CHECK_THROWS_WITH_AS(snn::io::read_netx(empty.string()), doctest::Contains("no 'layer' group"), snn::invalid_argument);

    const fs::path pool = temp_file("pool.h5");
    write_custom(pool, "pool", true, {2, 3});
    CHECK_THROWS_WITH_AS(snn::io::read_netx(pool.string()), doctest::Contains("unsupported layer type 'pool'"), snn::invalid_argument);

    const fs::path no_neuron = temp_file("no_neuron.h5");
    write_custom(no_neuron, "dense", false, {2, 3});
    CHECK_THROWS_WITH_AS(snn::io::read_netx(no_neuron.string()), doctest::Contains("neuron"), snn::invalid_argument);

    const fs::path bad_shape = temp_file("bad_shape.h5");
    write_custom(bad_shape, "dense", true, {3, 2});
    CHECK_THROWS_WITH_AS(snn::io::read_netx(bad_shape.string()), doctest::Contains("weight"), snn::invalid_argument);

    const fs::path ok = temp_file("ok.h5");
    write_custom(ok, "dense", true, {2, 3});
    const lava::network_desc net = snn::io::read_netx(ok.string());
    CHECK(net.layers.at(0).weight == std::vector<std::int32_t>(6, 2));
    CHECK(net.layers.at(0).neuron.ref_delay == 1);

    // An unwritable path is an I/O error, and an invalid network is refused before writing.
    CHECK_THROWS_AS(snn::io::write_netx("/nonexistent-dir/x.h5", sample_network()), snn::io_error);
    lava::network_desc bad = sample_network();
    bad.layers[2].weight.pop_back();
    CHECK_THROWS_WITH_AS(snn::io::write_netx(ok.string(), bad), doctest::Contains("layer 2"), snn::invalid_argument);
    for (const auto& p : {not_h5, empty, pool, no_neuron, bad_shape, ok}) fs::remove(p);
}

#endif  // SNN_TEST_HAS_NETX
