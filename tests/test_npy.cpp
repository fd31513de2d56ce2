// Tests for snn/io/npy.hpp: round trips of every dtype, byte-for-byte agreement with files
// written by numpy (embedded below), hand-written headers of each format version, and one test
// per kind of malformed file.

#include "snn/io/npy.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_view_literals;
using snn::binary16;
using snn::io::dtype;
using snn::io::npy_array;

namespace {

// ---------------------------------------------------------------------------------------------
// Files written by numpy 2.4 (numpy.save unless noted), embedded so that the test needs no Python.
// ---------------------------------------------------------------------------------------------

// numpy.save(f, numpy.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1)
constexpr std::string_view numpy_float32_2x3 =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }       "
    "                                                   \n"
    "\x00\x00\x80\xbf\x00\x00\x00\xbf\x00\x00\x00\x00\x00\x00\x00\x3f\x00\x00\x80\x3f\x00\x00"
    "\xc0\x3f"sv;

// numpy.save(f, numpy.array([0, -0.0, 1, 65504, inf, -inf, nan, 2**-24], dtype='<f2'))
constexpr std::string_view numpy_float16_specials =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (8,), }         "
    "                                                   \n"
    "\x00\x00\x00\x80\x00<\xff{\x00|\x00\xfc\x00~\x01\x00"sv;

// numpy.save(f, numpy.array(-42, dtype='<i8'))
constexpr std::string_view numpy_int64_scalar =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (), }           "
    "                                                   \n"
    "\xd6\xff\xff\xff\xff\xff\xff\xff"sv;

// numpy.save(f, numpy.array([[True, False], [False, True]]))
constexpr std::string_view numpy_bool_2x2 =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }       "
    "                                                   \n"
    "\x01\x00\x00\x01"sv;

// numpy.save(f, numpy.zeros((0, 3), dtype='<u2'))
constexpr std::string_view numpy_uint16_0x3 =
    "\x93NUMPY\x01\x00v\x00{'descr': '<u2', 'fortran_order': False, 'shape': (0, 3), }       "
    "                                                   \n"sv;

// numpy.save(f, numpy.array([-128, 0, 127], dtype='i1'))
constexpr std::string_view numpy_int8_3 =
    "\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }         "
    "                                                   \n"
    "\x80\x00\x7f"sv;

// numpy.save(f, numpy.array([1.5, -2.25, 1e300, 5e-324]).reshape(2, 1, 2))
constexpr std::string_view numpy_float64_2x1x2 =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 2), }    "
    "                                                   \n"
    "\x00\x00\x00\x00\x00\x00\xf8\x3f\x00\x00\x00\x00\x00\x00\x02\xc0\x9cu\x00\x88<\xe4" "7~\x01"
    "\x00\x00\x00\x00\x00\x00\x00"sv;

// numpy.save(f, numpy.array([0, 2**64 - 1], dtype='<u8'))
constexpr std::string_view numpy_uint64_2 =
    "\x93NUMPY\x01\x00v\x00{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }         "
    "                                                   \n"
    "\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"sv;

// numpy.lib.format.write_array(f, numpy.array([1, -2, 3], dtype='<i4'), version=(2, 0))
constexpr std::string_view numpy_int32_v2 =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (3,), } "
    "                                                         \n"
    "\x01\x00\x00\x00\xfe\xff\xff\xff\x03\x00\x00\x00"sv;

// numpy.lib.format.write_array(f, numpy.array([7, 255], dtype='u1'), version=(3, 0))
constexpr std::string_view numpy_uint8_v3 =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2,), } "
    "                                                         \n"
    "\x07\xff"sv;

// numpy.save(f, numpy.asfortranarray(numpy.arange(4, dtype='<i4').reshape(2, 2)))
constexpr std::string_view numpy_fortran_order =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }        "
    "                                                   \n"
    "\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00"sv;

// numpy.save(f, numpy.array([1, 2], dtype='>f4'))
constexpr std::string_view numpy_big_endian =
    "\x93NUMPY\x01\x00v\x00{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }         "
    "                                                   \n"
    "\x3f\x80\x00\x00@\x00\x00\x00"sv;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

std::vector<std::byte> to_bytes(std::string_view text) {
    std::vector<std::byte> bytes(text.size());
    if (!text.empty()) std::memcpy(bytes.data(), text.data(), text.size());
    return bytes;
}

std::string to_string(const std::byte* bytes, std::size_t size) {
    return size == 0 ? std::string() : std::string(reinterpret_cast<const char*>(bytes), size);
}

npy_array parse(std::string_view file, const std::string& name = "buffer.npy") {
    const std::vector<std::byte> bytes = to_bytes(file);
    return snn::io::parse_npy(bytes.data(), bytes.size(), name);
}

/// An .npy file with the given header text (stored as is, no padding added) and data bytes.
std::string npy_file(std::string_view header, std::string_view data = {}, int major_version = 1) {
    std::string file = "\x93NUMPY";
    file += static_cast<char>(major_version);
    file += '\0';
    const int length_bytes = major_version == 1 ? 2 : 4;
    for (int i = 0; i < length_bytes; ++i) file += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
    file += header;
    file += data;
    return file;
}

/// A header dict like numpy's for descr and shape (as Python source text).
std::string dict(std::string_view descr, std::string_view shape) {
    return "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " + std::string(shape) + ", }\n";
}

/// Runs `action`, which must throw snn::invalid_argument naming `argument`; returns what().
template <class Action>
std::string invalid_argument_message(Action&& action, const std::string& argument) {
    try {
        action();
    } catch (const snn::invalid_argument& error) {
        CHECK(error.argument() == argument);
        return error.what();
    }
    FAIL_CHECK("no snn::invalid_argument was thrown");
    return {};
}

/// The message of the invalid_argument that parsing `file` (named "bad.npy") throws.
std::string parse_error(std::string_view file) {
    return invalid_argument_message([&] { parse(file, "bad.npy"); }, "bad.npy");
}

template <class Action>
std::string io_error_message(Action&& action) {
    try {
        action();
    } catch (const snn::io_error& error) {
        return error.what();
    }
    FAIL_CHECK("no snn::io_error was thrown");
    return {};
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

/// A file name in the temporary directory, removed when this goes out of scope.
class temp_file {
public:
    temp_file() {
        static std::mt19937_64 generator{std::random_device{}()};
        path_ = (std::filesystem::temp_directory_path() / ("snn_test_npy_" + std::to_string(generator()) + ".npy"))
                    .string();
    }
    ~temp_file() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;

    const std::string& path() const { return path_; }

    std::string contents() const {
        std::ifstream in(path_, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    void write(std::string_view contents) const {
        std::ofstream out(path_, std::ios::binary);
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    }

private:
    std::string path_;
};

/// Checks the layout numpy.save produces: the header ends in '\n' and the data starts on a
/// 64-byte boundary; returns where the data starts.
std::size_t check_numpy_layout(const std::string& file) {
    REQUIRE(file.size() >= 10);
    REQUIRE(file.compare(0, 6, "\x93NUMPY") == 0);
    const bool version_1 = file[6] == 1;
    const std::size_t preamble = version_1 ? 10 : 12;
    std::size_t header_length = 0;
    for (std::size_t i = preamble; i-- > 8;) header_length = header_length * 256 + static_cast<unsigned char>(file[i]);
    const std::size_t data_offset = preamble + header_length;
    CHECK(data_offset % 64 == 0);
    REQUIRE(data_offset <= file.size());
    CHECK(file[data_offset - 1] == '\n');
    return data_offset;
}

template <class T, class Bits>
T from_bits(Bits bits) {
    static_assert(sizeof(T) == sizeof(Bits));
    T value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

/// Edge values of each type; for floating types, bit patterns (zeros, subnormals, infinities,
/// quiet and signalling NaNs) that a round trip must keep exactly.
template <class T>
std::vector<T> edge_values() {
    if constexpr (std::is_same_v<T, binary16>) {
        std::vector<T> values;
        for (const std::uint16_t bits : {0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xC000, 0x7BFF,
                                         0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7FFF, 0xFFFF}) {
            values.push_back(binary16::from_bits(bits));
        }
        return values;
    } else if constexpr (std::is_same_v<T, float>) {
        std::vector<T> values;
        for (const std::uint32_t bits : {0x00000000u, 0x80000000u, 0x00000001u, 0x007FFFFFu, 0x3F800000u, 0x7F7FFFFFu,
                                         0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u, 0xFFFFFFFFu}) {
            values.push_back(from_bits<float>(bits));
        }
        return values;
    } else if constexpr (std::is_same_v<T, double>) {
        std::vector<T> values;
        for (const std::uint64_t bits : {0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull,
                                         0x000FFFFFFFFFFFFFull, 0x3FF0000000000000ull, 0x7FF0000000000000ull,
                                         0xFFF0000000000000ull, 0x7FF8000000000000ull, 0x7FF0000000000001ull,
                                         0xFFFFFFFFFFFFFFFFull}) {
            values.push_back(from_bits<double>(bits));
        }
        return values;
    } else {
        using limits = std::numeric_limits<T>;
        return {limits::min(), limits::max(), T(0), T(1), T(limits::max() / 2), T(limits::min() + 1), T(42)};
    }
}

bool same_bytes(const npy_array& a, const npy_array& b) {
    return a.type() == b.type() && a.shape() == b.shape() && a.size_bytes() == b.size_bytes() &&
           to_string(a.bytes(), a.size_bytes()) == to_string(b.bytes(), b.size_bytes());
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// dtype
// -------------------------------------------------------------------------------------------------

TEST_CASE("npy: dtype sizes and names and the C++ type trait") {
    using snn::io::dtype_of;
    static_assert(dtype_of<binary16>() == dtype::float16);
    static_assert(dtype_of<float>() == dtype::float32);
    static_assert(dtype_of<double>() == dtype::float64);
    static_assert(dtype_of<std::int8_t>() == dtype::int8);
    static_assert(dtype_of<std::int16_t>() == dtype::int16);
    static_assert(dtype_of<std::int32_t>() == dtype::int32);
    static_assert(dtype_of<std::int64_t>() == dtype::int64);
    static_assert(dtype_of<long long>() == dtype::int64);
    static_assert(dtype_of<std::uint8_t>() == dtype::uint8);
    static_assert(dtype_of<std::uint16_t>() == dtype::uint16);
    static_assert(dtype_of<std::uint32_t>() == dtype::uint32);
    static_assert(dtype_of<std::uint64_t>() == dtype::uint64);
    static_assert(dtype_of<unsigned long long>() == dtype::uint64);
    static_assert(dtype_of<bool>() == dtype::bool_);

    const struct {
        dtype type;
        std::size_t size;
        const char* name;
    } expected[] = {
        {dtype::float16, 2, "float16"}, {dtype::float32, 4, "float32"}, {dtype::float64, 8, "float64"},
        {dtype::int8, 1, "int8"},       {dtype::int16, 2, "int16"},     {dtype::int32, 4, "int32"},
        {dtype::int64, 8, "int64"},     {dtype::uint8, 1, "uint8"},     {dtype::uint16, 2, "uint16"},
        {dtype::uint32, 4, "uint32"},   {dtype::uint64, 8, "uint64"},   {dtype::bool_, 1, "bool"},
    };
    for (const auto& entry : expected) {
        CAPTURE(entry.name);
        CHECK(snn::io::dtype_size(entry.type) == entry.size);
        CHECK(std::string(snn::io::dtype_name(entry.type)) == entry.name);
    }
    const auto invalid = static_cast<dtype>(99);
    CHECK(std::string(snn::io::dtype_name(invalid)) == "invalid dtype");
    CHECK(contains(invalid_argument_message([&] { snn::io::dtype_size(invalid); }, "dtype"), "99"));
    invalid_argument_message([&] { npy_array(invalid, {2}); }, "dtype");
}

// -------------------------------------------------------------------------------------------------
// npy_array
// -------------------------------------------------------------------------------------------------

TEST_CASE("npy: npy_array construction and accessors and typed access") {
    SUBCASE("zero-filled") {
        npy_array array(dtype::int32, {2, 3});
        CHECK(array.type() == dtype::int32);
        CHECK(array.shape() == std::vector<std::int64_t>{2, 3});
        CHECK(array.size() == 6);
        CHECK(array.size_bytes() == 24);
        for (int i = 0; i < 6; ++i) CHECK(array.data<std::int32_t>()[i] == 0);
        array.data<std::int32_t>()[5] = 7;
        CHECK(std::to_integer<int>(array.bytes()[20]) == 7);
    }
    SUBCASE("scalar and empty shapes") {
        CHECK(npy_array(dtype::float64, {}).size() == 1);
        CHECK(npy_array(dtype::float64, {}).size_bytes() == 8);
        CHECK(npy_array(dtype::float64, {0}).size() == 0);
        CHECK(npy_array(dtype::float64, {3, 0, 2}).size_bytes() == 0);
        // A zero dimension makes the array empty even when the other dimensions would overflow.
        CHECK(npy_array(dtype::float64, {std::int64_t{1} << 40, std::int64_t{1} << 40, 0}).size() == 0);
    }
    SUBCASE("from copies the values") {
        const std::int16_t values[] = {1, -2, 3, -4};
        const npy_array array = npy_array::from<std::int16_t>({2, 2}, values);
        CHECK(array.type() == dtype::int16);
        CHECK(array.data<std::int16_t>()[3] == -4);
        CHECK(npy_array::from<float>({0}, nullptr).size() == 0);
        CHECK(contains(invalid_argument_message([] { npy_array::from<float>({2}, nullptr); }, "values"),
                       "null pointer"));
    }
    SUBCASE("typed access checks the dtype") {
        npy_array array(dtype::float32, {2});
        const npy_array& constant = array;
        const std::string message = invalid_argument_message([&] { array.data<double>(); }, "dtype");
        CHECK(contains(message, "holds float32, asked for float64"));
        invalid_argument_message([&] { constant.data<binary16>(); }, "dtype");
        invalid_argument_message([&] { constant.data<std::int32_t>(); }, "dtype");
        CHECK(constant.data<float>() == reinterpret_cast<const float*>(constant.bytes()));
    }
    SUBCASE("bad shapes") {
        CHECK(contains(invalid_argument_message([] { npy_array(dtype::int8, {2, -1}); }, "shape"),
                       "dimension 1 is negative"));
        CHECK(contains(invalid_argument_message([] { npy_array(dtype::int8, {1ll << 32, 1ll << 32}); }, "shape"),
                       "overflows a 64-bit integer"));
        CHECK(contains(invalid_argument_message([] { npy_array(dtype::float64, {1ll << 61}); }, "shape"),
                       "exceed the addressable memory"));
    }
}

TEST_CASE("npy: to_vector_as converts between dtypes") {
    SUBCASE("widening conversions are exact") {
        const binary16 halves[] = {binary16(1.5f), binary16::from_bits(0x0001), binary16::from_bits(0xFC00)};
        const std::vector<float> floats = npy_array::from<binary16>({3}, halves).to_vector_as<float>();
        CHECK(floats[0] == 1.5f);
        CHECK(floats[1] == std::ldexp(1.0f, -24));
        CHECK(floats[2] == -std::numeric_limits<float>::infinity());

        const std::int32_t ints[] = {-7, 2147483647};
        CHECK(npy_array::from<std::int32_t>({2}, ints).to_vector_as<double>() ==
              std::vector<double>{-7.0, 2147483647.0});
        CHECK(npy_array::from<std::int32_t>({2}, ints).to_vector_as<std::int64_t>() ==
              std::vector<std::int64_t>{-7, 2147483647});

        const bool flags[] = {true, false};
        CHECK(npy_array::from<bool>({2}, flags).to_vector_as<std::int32_t>() == std::vector<std::int32_t>{1, 0});
        CHECK(npy_array::from<bool>({2}, flags).to_vector_as<float>() == std::vector<float>{1.0f, 0.0f});
    }
    SUBCASE("same type keeps every bit, NaN payloads included") {
        const binary16 nan = binary16::from_bits(0x7C01);
        const std::vector<binary16> copy = npy_array::from<binary16>({}, &nan).to_vector_as<binary16>();
        REQUIRE(copy.size() == 1);
        CHECK(copy[0].bits == 0x7C01);
    }
    SUBCASE("rounding to binary16 is to nearest even, with overflow to infinity") {
        const double values[] = {1.0 + std::ldexp(1.0, -11), 1.0 + 3 * std::ldexp(1.0, -11), 65520.0, -1e300};
        const std::vector<binary16> halves = npy_array::from<double>({4}, values).to_vector_as<binary16>();
        CHECK(halves[0].bits == 0x3C00);  // tie: rounds down to the even 1.0
        CHECK(halves[1].bits == 0x3C02);  // tie: rounds up to the even 1 + 2^-9
        CHECK(halves[2].bits == 0x7C00);
        CHECK(halves[3].bits == 0xFC00);
        const std::int64_t big[] = {65519, 70000};
        const std::vector<binary16> from_ints = npy_array::from<std::int64_t>({2}, big).to_vector_as<binary16>();
        CHECK(from_ints[0].bits == 0x7BFF);
        CHECK(from_ints[1].bits == 0x7C00);
    }
    SUBCASE("to bool tests for nonzero") {
        const float values[] = {0.0f, -0.0f, 0.5f, std::numeric_limits<float>::quiet_NaN()};
        const std::vector<bool> flags = npy_array::from<float>({4}, values).to_vector_as<bool>();
        CHECK(flags == std::vector<bool>{false, false, true, true});
    }
    SUBCASE("floating to integer truncates towards zero and checks the range") {
        const float values[] = {2.7f, -2.7f, -128.9f, 127.9f};
        CHECK(npy_array::from<float>({4}, values).to_vector_as<std::int8_t>() ==
              std::vector<std::int8_t>{2, -2, -128, 127});
        const float too_big[] = {1.0f, 128.0f};
        const std::string message =
            invalid_argument_message([&] { npy_array::from<float>({2}, too_big).to_vector_as<std::int8_t>(); }, "T");
        CHECK(contains(message, "element 1 of the float32 array (128) does not fit in int8"));
        const float nan = std::numeric_limits<float>::quiet_NaN();
        invalid_argument_message([&] { npy_array::from<float>({}, &nan).to_vector_as<std::int64_t>(); }, "T");
        const float negative = -1.0f;
        invalid_argument_message([&] { npy_array::from<float>({}, &negative).to_vector_as<std::uint32_t>(); }, "T");
        const float minus_half = -0.5f;  // truncates to 0, which fits
        CHECK(npy_array::from<float>({}, &minus_half).to_vector_as<std::uint32_t>() == std::vector<std::uint32_t>{0});

        // The exact limits of the 64-bit types.
        const double limits[] = {-9223372036854775808.0, 18446744073709549568.0};
        CHECK(npy_array::from<double>({}, &limits[0]).to_vector_as<std::int64_t>()[0] ==
              std::numeric_limits<std::int64_t>::min());
        CHECK(npy_array::from<double>({}, &limits[1]).to_vector_as<std::uint64_t>()[0] == 18446744073709549568ull);
        const double two_63 = 9223372036854775808.0, two_64 = 18446744073709551616.0;
        invalid_argument_message([&] { npy_array::from<double>({}, &two_63).to_vector_as<std::int64_t>(); }, "T");
        invalid_argument_message([&] { npy_array::from<double>({}, &two_64).to_vector_as<std::uint64_t>(); }, "T");
    }
    SUBCASE("integer to integer checks the range") {
        const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
        const npy_array huge_array = npy_array::from<std::uint64_t>({}, &huge);
        CHECK(contains(invalid_argument_message([&] { huge_array.to_vector_as<std::int64_t>(); }, "T"),
                       "(18446744073709551615) does not fit in int64"));
        const std::int64_t minus_one = -1;
        const npy_array minus_one_array = npy_array::from<std::int64_t>({}, &minus_one);
        invalid_argument_message([&] { minus_one_array.to_vector_as<std::uint64_t>(); }, "T");
        const std::int32_t values[] = {-32768, 32767};
        CHECK(npy_array::from<std::int32_t>({2}, values).to_vector_as<std::int16_t>() ==
              std::vector<std::int16_t>{-32768, 32767});
        const std::int32_t out_of_range = 32768;
        invalid_argument_message([&] { npy_array::from<std::int32_t>({}, &out_of_range).to_vector_as<std::int16_t>(); },
                                 "T");
        const std::uint8_t byte = 255;
        CHECK(npy_array::from<std::uint8_t>({}, &byte).to_vector_as<std::int16_t>() == std::vector<std::int16_t>{255});
        invalid_argument_message([&] { npy_array::from<std::uint8_t>({}, &byte).to_vector_as<std::int8_t>(); }, "T");
    }
}

// -------------------------------------------------------------------------------------------------
// Round trips
// -------------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("npy: every dtype round-trips bit for bit", T, binary16, float, double, std::int8_t, std::int16_t,
                   std::int32_t, std::int64_t, std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t) {
    const std::vector<T> values = edge_values<T>();
    const auto count = static_cast<std::int64_t>(values.size());
    for (const std::vector<std::int64_t>& shape :
         {std::vector<std::int64_t>{count}, std::vector<std::int64_t>{1, count, 1}, std::vector<std::int64_t>{},
          std::vector<std::int64_t>{0}, std::vector<std::int64_t>{3, 0, 2}}) {
        CAPTURE(snn::io::shape_to_string(shape));
        const npy_array original = npy_array::from<T>(shape, values.data());
        temp_file file;
        snn::io::write_npy(file.path(), shape, values.data());
        const std::string contents = file.contents();
        const std::size_t data_offset = check_numpy_layout(contents);
        CHECK(contents.size() - data_offset == original.size_bytes());

        const npy_array read = snn::io::read_npy(file.path());
        CHECK(same_bytes(read, original));
        CHECK(read.type() == snn::io::dtype_of<T>());

        // Writing the npy_array overload gives the same file, and parsing it from memory the same array.
        temp_file again;
        snn::io::write_npy(again.path(), read);
        CHECK(again.contents() == contents);
        CHECK(same_bytes(parse(contents), original));
    }
}

TEST_CASE("npy: bool round-trips and any nonzero byte reads as true") {
    const bool values[] = {true, false, false, true, true};
    temp_file file;
    snn::io::write_npy(file.path(), {5}, values);
    const npy_array read = snn::io::read_npy(file.path());
    REQUIRE(read.type() == dtype::bool_);
    for (int i = 0; i < 5; ++i) CHECK(read.data<bool>()[i] == values[i]);

    const npy_array odd = parse(npy_file(dict("|b1", "(3,)"), "\x00\x02\xff"sv));
    CHECK(std::to_integer<int>(odd.bytes()[0]) == 0);
    CHECK(std::to_integer<int>(odd.bytes()[1]) == 1);
    CHECK(std::to_integer<int>(odd.bytes()[2]) == 1);
    CHECK(odd.to_vector_as<int>() == std::vector<int>{0, 1, 1});
}

TEST_CASE("npy: headers longer than 65535 bytes are written in format 2.0") {
    // 30000 dimensions of 1 need a 90000-character shape tuple.
    const std::vector<std::int64_t> shape(30000, 1);
    const float value = 3.5f;
    temp_file file;
    snn::io::write_npy(file.path(), shape, &value);
    const std::string contents = file.contents();
    CHECK(contents[6] == 2);
    check_numpy_layout(contents);
    const npy_array read = snn::io::read_npy(file.path());
    CHECK(read.shape() == shape);
    CHECK(read.data<float>()[0] == 3.5f);
}

// -------------------------------------------------------------------------------------------------
// Interoperability with numpy
// -------------------------------------------------------------------------------------------------

TEST_CASE("npy: files written by numpy are read and written back byte for byte") {
    struct numpy_file {
        const char* name;
        std::string_view bytes;
        dtype type;
        std::vector<std::int64_t> shape;
    };
    const numpy_file files[] = {
        {"float32 2x3", numpy_float32_2x3, dtype::float32, {2, 3}},
        {"float16 specials", numpy_float16_specials, dtype::float16, {8}},
        {"int64 scalar", numpy_int64_scalar, dtype::int64, {}},
        {"bool 2x2", numpy_bool_2x2, dtype::bool_, {2, 2}},
        {"uint16 0x3", numpy_uint16_0x3, dtype::uint16, {0, 3}},
        {"int8 3", numpy_int8_3, dtype::int8, {3}},
        {"float64 2x1x2", numpy_float64_2x1x2, dtype::float64, {2, 1, 2}},
        {"uint64 2", numpy_uint64_2, dtype::uint64, {2}},
    };
    for (const numpy_file& expected : files) {
        CAPTURE(expected.name);
        const npy_array array = parse(expected.bytes);
        CHECK(array.type() == expected.type);
        CHECK(array.shape() == expected.shape);
        temp_file file;
        snn::io::write_npy(file.path(), array);
        CHECK(file.contents() == expected.bytes);
    }

    CHECK(parse(numpy_float32_2x3).to_vector_as<float>() == std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f});
    std::vector<std::uint16_t> half_bits;
    for (const binary16 h : parse(numpy_float16_specials).to_vector_as<binary16>()) half_bits.push_back(h.bits);
    CHECK(half_bits == std::vector<std::uint16_t>{0x0000, 0x8000, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x0001});
    CHECK(parse(numpy_int64_scalar).data<std::int64_t>()[0] == -42);
    CHECK(parse(numpy_bool_2x2).to_vector_as<bool>() == std::vector<bool>{true, false, false, true});
    CHECK(parse(numpy_uint16_0x3).size() == 0);
    CHECK(parse(numpy_int8_3).to_vector_as<int>() == std::vector<int>{-128, 0, 127});
    CHECK(parse(numpy_float64_2x1x2).to_vector_as<double>() == std::vector<double>{1.5, -2.25, 1e300, 5e-324});
    CHECK(parse(numpy_uint64_2).data<std::uint64_t>()[1] == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("npy: numpy's format 2.0 and 3.0 files") {
    const npy_array v2 = parse(numpy_int32_v2);
    CHECK(v2.shape() == std::vector<std::int64_t>{3});
    CHECK(v2.to_vector_as<std::int32_t>() == std::vector<std::int32_t>{1, -2, 3});
    const npy_array v3 = parse(numpy_uint8_v3);
    CHECK(v3.to_vector_as<int>() == std::vector<int>{7, 255});
}

// -------------------------------------------------------------------------------------------------
// Hand-written headers: everything numpy's reader accepts that numpy's writer does not produce.
// -------------------------------------------------------------------------------------------------

TEST_CASE("npy: hand-written version 1.0 file") {
    // Double quotes, keys in another order, no spaces, a trailing comma in the shape, no padding.
    constexpr std::string_view file =
        "\x93NUMPY\x01\x00" "\x35\x00"  // version 1.0, header of 0x35 = 53 bytes
        "{\"shape\":(2,3,),\"fortran_order\":False,\"descr\":\"<i2\"}\n"
        "\x01\x00\x02\x00\x03\x00\xfc\xff\xfb\xff\xfa\xff"sv;
    const npy_array array = parse(file);
    CHECK(array.type() == dtype::int16);
    CHECK(array.shape() == std::vector<std::int64_t>{2, 3});
    CHECK(array.to_vector_as<int>() == std::vector<int>{1, 2, 3, -4, -5, -6});
}

TEST_CASE("npy: hand-written version 2.0 file") {
    // Spaces everywhere, '=' (native, here little-endian) byte order, a 4-byte header length.
    constexpr std::string_view file =
        "\x93NUMPY\x02\x00" "\x43\x00\x00\x00"  // version 2.0, header of 0x43 = 67 bytes
        "{ 'descr' : '=f4' ,'shape':( 3, ) , 'fortran_order' : False , }   \n"
        "\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40"sv;
    const npy_array array = parse(file);
    CHECK(array.type() == dtype::float32);
    CHECK(array.to_vector_as<float>() == std::vector<float>{1.0f, 2.0f, 3.0f});
}

TEST_CASE("npy: accepted header variations") {
    CHECK(parse(npy_file(dict("<f8", "()"), std::string(8, '\0'), 3)).size() == 1);
    CHECK(parse(npy_file("{'descr':'<u4','fortran_order':False,'shape':(5)}", std::string(20, '\0'))).shape() ==
          std::vector<std::int64_t>{5});  // "(5)" is read as "(5,)"
    CHECK(parse(npy_file(dict("<i8", "(2, -0)"))).size() == 0);
    CHECK(parse(npy_file("\t{'descr': '|u1', 'fortran_order': False, 'shape': (1,)}\r\n", "x")).size() == 1);
    // One-byte types ignore the byte order character, whichever it is.
    for (const char* descr : {"|i1", "<i1", ">i1", "=i1", "i1", "|u1", "<u1", ">b1", "|b1"}) {
        CAPTURE(descr);
        CHECK(parse(npy_file(dict(descr, "(1,)"), "\x01")).size() == 1);
    }
    for (const char* descr : {"<f2", "=f2", "f2", "<i8", "=u8"}) {
        CAPTURE(descr);
        CHECK(parse(npy_file(dict(descr, "(0,)"))).size() == 0);
    }
}

// -------------------------------------------------------------------------------------------------
// Malformed files
// -------------------------------------------------------------------------------------------------

TEST_CASE("npy: malformed preambles") {
    CHECK(contains(parse_error(""), "bad magic"));
    CHECK(contains(parse_error("\x93NUM"), "bad magic"));
    CHECK(contains(parse_error("\x93NUMPX\x01\x00\x00\x00"), "bad magic"));
    CHECK(contains(parse_error("PK\x03\x04 a zip file"), "bad magic"));
    CHECK(contains(parse_error("\x93NUMPY"), "truncated preamble"));
    CHECK(contains(parse_error("\x93NUMPY\x01\x00\x10"sv), "truncated preamble"));
    CHECK(contains(parse_error("\x93NUMPY\x02\x00\x10\x00\x00"sv), "truncated preamble"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "()"), "abcd", 4)), "unsupported .npy format version 4.0"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "()"), "abcd", 0)), "version 0.0"));
    std::string minor_1 = npy_file(dict("<f4", "()"), "abcd");
    minor_1[7] = 1;
    CHECK(contains(parse_error(minor_1), "version 1.1"));
}

TEST_CASE("npy: truncated headers") {
    const std::string file = npy_file(dict("<f4", "(2,)"), std::string(8, '\0'));
    const std::string header_only = file.substr(0, file.size() - 8);
    for (std::size_t size = 10; size < header_only.size(); size += 7) {
        CAPTURE(size);
        CHECK(contains(parse_error(std::string_view(file).substr(0, size)), "truncated header"));
    }
    CHECK(contains(parse_error("\x93NUMPY\x02\x00\xff\xff\xff\xff{}"sv), "truncated header"));
}

TEST_CASE("npy: malformed header dicts") {
    const struct {
        std::string header;
        const char* reason;
    } cases[] = {
        {"", "header is not a dict"},
        {"[1, 2]\n", "header is not a dict"},
        {"'descr'\n", "header is not a dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", "expected a quoted key at the end of the header"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", "expected ',' or '}' after the value of 'descr'"},
        {"{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", "expected ':' after key 'descr'"},
        {"{descr: '<f4', 'fortran_order': False, 'shape': (2,)}", "expected a quoted key"},
        {"{'descr: '<f4', 'fortran_order': False, 'shape': (2,)}", "expected ':'"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", "unknown dtype '<f4, '"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x\n", "unexpected characters after the header dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}}\n", "unexpected characters after the header dict"},
        {"{,}", "expected a quoted key"},
        {"{'fortran_order': False, 'shape': (2,)}", "missing key 'descr'"},
        {"{'descr': '<f4', 'shape': (2,)}", "missing key 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
        {"{}", "missing key 'descr'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "duplicate key 'descr'"},
        {"{'descr': '<f4', 'fortran_order': False, 'fortran_order': False, 'shape': (2,)}",
         "duplicate key 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}", "duplicate key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key 'extra'"},
        {"{'descr': 4, 'fortran_order': False, 'shape': (2,)}", "expected a quoted descr string"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "expected True or False for 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", "expected True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "expected a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "expected a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}", "expected an integer in 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", "expected an integer in 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')' in 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}", "expected an integer in 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", "expected ',' or ')' in 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2", "expected ',' or ')' in 'shape' at the end"},
    };
    for (const auto& bad : cases) {
        CAPTURE(bad.header);
        const std::string message = parse_error(npy_file(bad.header, std::string(8, '\0')));
        CHECK(contains(message, bad.reason));
        CHECK(contains(message, "bad.npy"));
    }
}

TEST_CASE("npy: unsupported dtypes and orders") {
    CHECK(contains(parse_error(numpy_big_endian), "big-endian dtype '>f4' is not supported"));
    CHECK(contains(parse_error(numpy_fortran_order), "fortran_order True is not supported"));
    CHECK(contains(parse_error(npy_file(dict(">i8", "(1,)"), std::string(8, '\0'))), "big-endian dtype '>i8'"));
    CHECK(contains(parse_error(npy_file(dict("|f4", "(1,)"), "abcd")), "dtype '|f4' is ambiguous"));
    for (const char* descr : {"<c8", "<f16", "<f3", "", "<", "|O", "<U10", "<M8[ns]", "|S4", "b", "float32"}) {
        CAPTURE(descr);
        CHECK(contains(parse_error(npy_file(dict(descr, "(1,)"), "abcd")), "unknown dtype"));
    }
    CHECK(contains(parse_error(npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", "abcd")),
                   "structured dtypes are not supported"));
}

TEST_CASE("npy: bad shapes") {
    CHECK(contains(parse_error(npy_file(dict("<f4", "(2, -3)"))), "shape dimension 1 is negative (-3)"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "(99999999999999999999,)"))),
                   "shape dimension 0 (99999999999999999999) overflows a 64-bit integer"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "(9223372036854775808,)"))), "overflows a 64-bit integer"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "(4294967296, 4294967296)"))),
                   "element count overflows a 64-bit integer"));
    CHECK(contains(parse_error(npy_file(dict("<f8", "(2305843009213693952,)"))), "exceed the addressable memory"));
    // The largest int64 is a valid dimension; the file is then merely too short.
    CHECK(contains(parse_error(npy_file(dict("|u1", "(9223372036854775807,)"))), "data too short"));
}

TEST_CASE("npy: data size must match the shape") {
    CHECK(contains(parse_error(npy_file(dict("<f4", "(3,)"), std::string(8, '\0'))),
                   "data too short: shape (3,) of float32 needs 12 bytes of data, the file has 8"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "()"))), "data too short"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "(3,)"), std::string(13, '\0'))),
                   "trailing bytes after the data: shape (3,) of float32 needs 12 bytes of data, the file has 13"));
    CHECK(contains(parse_error(npy_file(dict("<f4", "(0,)"), "x")), "trailing bytes"));
    std::string numpy_truncated(numpy_float32_2x3);
    numpy_truncated.pop_back();
    CHECK(contains(parse_error(numpy_truncated), "data too short"));
}

TEST_CASE("npy: parse_npy checks its pointer") {
    CHECK(contains(invalid_argument_message([] { snn::io::parse_npy(nullptr, 10, "x.npy"); }, "data"), "null pointer"));
    CHECK(contains(invalid_argument_message([] { snn::io::parse_npy(nullptr, 0, "x.npy"); }, "x.npy"), "bad magic"));
}

// -------------------------------------------------------------------------------------------------
// Files on disk
// -------------------------------------------------------------------------------------------------

TEST_CASE("npy: read_npy names the file in every error") {
    SUBCASE("missing file") {
        const std::string path = (std::filesystem::temp_directory_path() / "snn_test_npy_does_not_exist.npy").string();
        const std::string message = io_error_message([&] { snn::io::read_npy(path); });
        CHECK(contains(message, path));
        CHECK(contains(message, std::strerror(ENOENT)));
    }
    SUBCASE("a directory") {
        const std::string path = std::filesystem::temp_directory_path().string();
        CHECK(contains(io_error_message([&] { snn::io::read_npy(path); }), path));
    }
    SUBCASE("malformed files") {
        temp_file file;
        const std::string good = npy_file(dict("<i4", "(2,)"), std::string(8, '\0'));
        const struct {
            std::string contents;
            const char* reason;
        } cases[] = {
            {"", "bad magic"},
            {"\x93NUMPY\x01", "truncated preamble"},
            {good.substr(0, 20), "truncated header"},
            {good.substr(0, good.size() - 1), "data too short"},
            {good + "!", "trailing bytes"},
            {std::string(numpy_fortran_order), "fortran_order True is not supported"},
            {std::string(numpy_big_endian), "big-endian"},
            // A forged shape must be refused before anything that large is allocated.
            {npy_file(dict("<f8", "(1000000000000,)"), std::string(8, '\0')), "data too short"},
        };
        for (const auto& bad : cases) {
            CAPTURE(bad.reason);
            file.write(bad.contents);
            CHECK(contains(invalid_argument_message([&] { snn::io::read_npy(file.path()); }, file.path()), bad.reason));
        }
    }
    SUBCASE("short headers") {
        temp_file file;
        // An empty header: the 12 bytes read for the preamble already reach past it.
        file.write(npy_file("", "xy"));
        CHECK(contains(invalid_argument_message([&] { snn::io::read_npy(file.path()); }, file.path()),
                       "header is not a dict"));
        file.write(npy_file("{'descr':'|u1','fortran_order':False,'shape':(3,)}", "abc"));
        CHECK(snn::io::read_npy(file.path()).to_vector_as<int>() == std::vector<int>{'a', 'b', 'c'});
    }
}

TEST_CASE("npy: write_npy errors") {
    const float value = 1.0f;
    const std::string path =
        (std::filesystem::temp_directory_path() / "snn_test_npy_no_such_directory" / "out.npy").string();
    const std::string message = io_error_message([&] { snn::io::write_npy(path, {1}, &value); });
    CHECK(contains(message, path));
    CHECK(contains(message, std::strerror(ENOENT)));

    temp_file file;
    CHECK(contains(invalid_argument_message([&] { snn::io::write_npy<float>(file.path(), {2}, nullptr); }, "data"),
                   "null pointer"));
    invalid_argument_message([&] { snn::io::write_npy(file.path(), {-2}, &value); }, "shape");
    snn::io::write_npy<float>(file.path(), {0, 4}, nullptr);  // no element: no data needed
    CHECK(snn::io::read_npy(file.path()).shape() == std::vector<std::int64_t>{0, 4});
}
