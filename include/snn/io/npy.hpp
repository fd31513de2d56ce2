#pragma once
/// \file
/// Reading and writing numpy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// Only what the snn kernels exchange with Python is supported: little-endian numeric arrays
/// in C order (float16/32/64, signed and unsigned 8- to 64-bit integers, bool). Anything else
/// (big-endian data, Fortran order, structured or object dtypes) is rejected with an
/// `snn::invalid_argument` that names the file and says why; so is every malformed file. A file
/// that cannot be opened, read or written gives an `snn::io_error`.
///
/// Files are written exactly as `numpy.save` writes them (same header text and padding), so a
/// file written here is byte-identical to numpy's for the same array.

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "snn/config.hpp"
#include "snn/core/binary16.hpp"
#include "snn/core/error.hpp"

// Array data is copied between the file and memory without byte swapping, which is only right on
// a little-endian host (every platform snn targets). MSVC only targets little-endian machines and
// does not define these macros.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "snn/io/npy.hpp needs a little-endian host");
#endif
static_assert(sizeof(bool) == 1, "snn/io/npy.hpp stores bool as numpy does: one byte");
static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4, "float must be IEEE binary32");
static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8, "double must be IEEE binary64");

namespace snn::io {

/// Element types an `.npy` file can hold here. The names follow numpy's.
enum class dtype { float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool_ };

/// Bytes per element of `type`.
inline std::size_t dtype_size(dtype type) {
    switch (type) {
    case dtype::int8:
    case dtype::uint8:
    case dtype::bool_: return 1;
    case dtype::float16:
    case dtype::int16:
    case dtype::uint16: return 2;
    case dtype::float32:
    case dtype::int32:
    case dtype::uint32: return 4;
    case dtype::float64:
    case dtype::int64:
    case dtype::uint64: return 8;
    }
    throw snn::invalid_argument("dtype", "not a valid snn::io::dtype (value " +
                                             std::to_string(static_cast<int>(type)) + ")");
}

/// numpy's name for `type` ("float16", "int32", "bool", ...). Does not throw, because it is
/// used to build error messages: an out-of-range value gives "invalid dtype".
inline const char* dtype_name(dtype type) noexcept {
    switch (type) {
    case dtype::float16: return "float16";
    case dtype::float32: return "float32";
    case dtype::float64: return "float64";
    case dtype::int8: return "int8";
    case dtype::int16: return "int16";
    case dtype::int32: return "int32";
    case dtype::int64: return "int64";
    case dtype::uint8: return "uint8";
    case dtype::uint16: return "uint16";
    case dtype::uint32: return "uint32";
    case dtype::uint64: return "uint64";
    case dtype::bool_: return "bool";
    }
    return "invalid dtype";
}

namespace detail {

template <class T>
struct always_false : std::false_type {};

// Character types are integral, but whether `char` is signed depends on the platform, so none
// of them is given a dtype: store text as int8/uint8 explicitly.
template <class T>
constexpr bool is_character_type_v = std::is_same_v<T, char> || std::is_same_v<T, wchar_t> ||
                                     std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>
#if defined(__cpp_char8_t)
                                     || std::is_same_v<T, char8_t>
#endif
    ;

}  // namespace detail

/// The dtype that stores C++ type `T`: float, double, snn::binary16, bool, and the signed and
/// unsigned integers of 8 to 64 bits (chosen by size, so `long long` works as well as int64_t).
template <class T>
constexpr dtype dtype_of() {
    if constexpr (std::is_same_v<T, bool>) {
        return dtype::bool_;
    } else if constexpr (std::is_same_v<T, binary16>) {
        return dtype::float16;
    } else if constexpr (std::is_same_v<T, float>) {
        return dtype::float32;
    } else if constexpr (std::is_same_v<T, double>) {
        return dtype::float64;
    } else if constexpr (std::is_integral_v<T> && !detail::is_character_type_v<T>) {
        constexpr bool is_signed = std::is_signed_v<T>;
        if constexpr (sizeof(T) == 1) {
            return is_signed ? dtype::int8 : dtype::uint8;
        } else if constexpr (sizeof(T) == 2) {
            return is_signed ? dtype::int16 : dtype::uint16;
        } else if constexpr (sizeof(T) == 4) {
            return is_signed ? dtype::int32 : dtype::uint32;
        } else {
            static_assert(sizeof(T) == 8, "no .npy dtype for integers of this size");
            return is_signed ? dtype::int64 : dtype::uint64;
        }
    } else {
        static_assert(detail::always_false<T>::value,
                      "no .npy dtype for this type (use float, double, snn::binary16, bool or a "
                      "fixed-width integer)");
        return dtype::bool_;
    }
}

/// `shape` as Python prints a tuple: "()", "(5,)", "(2, 3)" (the text numpy writes in headers).
inline std::string shape_to_string(const std::vector<std::int64_t>& shape) {
    std::string text = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) text += ", ";
        text += std::to_string(shape[i]);
    }
    if (shape.size() == 1) text += ",";
    return text + ")";
}

namespace detail {

struct array_extent {
    std::int64_t elements;
    std::size_t bytes;
};

/// Element count and byte size of an array of `shape`, or `invalid_argument(argument)` when a
/// dimension is negative or the size does not fit in memory.
inline array_extent checked_extent(const std::vector<std::int64_t>& shape, std::size_t item_size,
                                   const std::string& argument) {
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] < 0) {
            throw snn::invalid_argument(argument, "shape " + shape_to_string(shape) + ": dimension " +
                                                      std::to_string(i) + " is negative");
        }
    }
    // A zero dimension makes the array empty however large the others are; check for it before
    // multiplying, since (2^40, 2^40, 0) would overflow before the product reached the zero.
    for (const std::int64_t dimension : shape) {
        if (dimension == 0) return {0, 0};
    }
    std::int64_t elements = 1;
    for (const std::int64_t dimension : shape) {
        if (elements > std::numeric_limits<std::int64_t>::max() / dimension) {
            throw snn::invalid_argument(argument, "shape " + shape_to_string(shape) +
                                                      ": the element count overflows a 64-bit integer");
        }
        elements *= dimension;
    }
    // std::vector cannot hold more than PTRDIFF_MAX bytes.
    const auto max_bytes = static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max());
    if (static_cast<std::uint64_t>(elements) > max_bytes / item_size) {
        throw snn::invalid_argument(argument, "shape " + shape_to_string(shape) + ": " +
                                                  std::to_string(elements) + " elements of " +
                                                  std::to_string(item_size) +
                                                  " bytes exceed the addressable memory");
    }
    return {elements, static_cast<std::size_t>(elements) * item_size};
}

// ------------------------------------------------------------------------------------------
// Element conversion for npy_array::to_vector_as
// ------------------------------------------------------------------------------------------

/// Widens a stored value, without loss, to one of three carriers: double (floating types),
/// std::int64_t (signed integers and bool) or std::uint64_t (unsigned integers).
template <class Source>
auto widen(Source value) {
    if constexpr (std::is_same_v<Source, binary16>) {
        return static_cast<double>(value.to_float());
    } else if constexpr (std::is_floating_point_v<Source>) {
        return static_cast<double>(value);
    } else if constexpr (std::is_same_v<Source, bool> || std::is_signed_v<Source>) {
        return static_cast<std::int64_t>(value);
    } else {
        return static_cast<std::uint64_t>(value);
    }
}

/// Stores `value` converted to `Target` in `out`. Floating and bool targets take every value
/// (rounding to nearest, overflowing to infinity; bool is `value != 0`, so NaN is true).
/// Integer targets take the value truncated towards zero and return false, leaving `out`
/// alone, when that is NaN or out of range: a C++ cast would be undefined or would wrap.
template <class Target, class Wide>
bool narrow(Wide value, Target& out) {
    if constexpr (std::is_same_v<Target, bool>) {
        out = value != 0;
    } else if constexpr (std::is_same_v<Target, binary16>) {
        // Integers reach binary16 through double: any integer that double rounds is beyond
        // binary16's range (65504) anyway, so there is still a single rounding.
        out = binary16(static_cast<double>(value));
    } else if constexpr (std::is_floating_point_v<Target>) {
        out = static_cast<Target>(value);
    } else if constexpr (std::is_floating_point_v<Wide>) {
        const double truncated = std::trunc(value);
        // 2^digits is the first integer past Target's maximum; both bounds are exact doubles.
        const double past_max = std::ldexp(1.0, std::numeric_limits<Target>::digits);
        const double lowest = std::is_signed_v<Target> ? -past_max : 0.0;
        if (!(truncated >= lowest && truncated < past_max)) return false;  // also rejects NaN
        out = static_cast<Target>(truncated);
    } else if constexpr (std::is_signed_v<Wide>) {
        if constexpr (std::is_signed_v<Target>) {
            if (value < std::numeric_limits<Target>::min() || value > std::numeric_limits<Target>::max()) {
                return false;
            }
        } else {
            if (value < 0 || static_cast<std::uint64_t>(value) > std::numeric_limits<Target>::max()) {
                return false;
            }
        }
        out = static_cast<Target>(value);
    } else {
        if (value > static_cast<std::uint64_t>(std::numeric_limits<Target>::max())) return false;
        out = static_cast<Target>(value);
    }
    return true;
}

inline std::string value_to_string(double value) {
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}
inline std::string value_to_string(std::int64_t value) { return std::to_string(value); }
inline std::string value_to_string(std::uint64_t value) { return std::to_string(value); }

}  // namespace detail

// ------------------------------------------------------------------------------------------
// npy_array
// ------------------------------------------------------------------------------------------

/// An n-dimensional array in C order that owns its data: what an `.npy` file holds.
class npy_array {
public:
    /// A zero-filled array. Throws `invalid_argument("shape")` when a dimension is negative or
    /// the size overflows, `invalid_argument("dtype")` for an out-of-range dtype value.
    npy_array(dtype type, std::vector<std::int64_t> shape) : type_(type), shape_(std::move(shape)) {
        const detail::array_extent extent = detail::checked_extent(shape_, dtype_size(type_), "shape");
        elements_ = extent.elements;
        storage_.resize(extent.bytes);  // value-initialised: all zero
    }

    /// An array of `shape` holding a copy of the `size` values at `values` (which may be null
    /// only when the shape has no element).
    template <class T>
    static npy_array from(std::vector<std::int64_t> shape, const T* values) {
        npy_array array(dtype_of<T>(), std::move(shape));
        snn::require(values != nullptr || array.elements_ == 0, "values",
                     "null pointer for " + std::to_string(array.elements_) + " elements");
        if (!array.storage_.empty()) std::memcpy(array.storage_.data(), values, array.storage_.size());
        return array;
    }

    dtype type() const noexcept { return type_; }
    const std::vector<std::int64_t>& shape() const noexcept { return shape_; }
    /// Number of elements: the product of the shape (1 for a scalar, 0 if a dimension is 0).
    std::int64_t size() const noexcept { return elements_; }
    /// Number of bytes of data: size() * dtype_size(type()).
    std::size_t size_bytes() const noexcept { return storage_.size(); }

    /// The raw little-endian element data, size_bytes() long (null when empty).
    const std::byte* bytes() const noexcept { return storage_.data(); }
    std::byte* bytes() noexcept { return storage_.data(); }

    /// The elements as `T`; throws `invalid_argument("dtype")` unless `T` is the stored type.
    template <class T>
    const T* data() const {
        require_type<T>();
        return reinterpret_cast<const T*>(storage_.data());
    }
    template <class T>
    T* data() {
        require_type<T>();
        return reinterpret_cast<T*>(storage_.data());
    }

    /// A copy of the elements converted to `T`, whatever the stored type (see detail::narrow:
    /// float targets round, bool targets test for nonzero, integer targets truncate towards
    /// zero). Throws `invalid_argument("T")` when a value does not fit an integer `T`.
    template <class T>
    std::vector<T> to_vector_as() const {
        switch (type_) {
        case dtype::float16: return converted<binary16, T>();
        case dtype::float32: return converted<float, T>();
        case dtype::float64: return converted<double, T>();
        case dtype::int8: return converted<std::int8_t, T>();
        case dtype::int16: return converted<std::int16_t, T>();
        case dtype::int32: return converted<std::int32_t, T>();
        case dtype::int64: return converted<std::int64_t, T>();
        case dtype::uint8: return converted<std::uint8_t, T>();
        case dtype::uint16: return converted<std::uint16_t, T>();
        case dtype::uint32: return converted<std::uint32_t, T>();
        case dtype::uint64: return converted<std::uint64_t, T>();
        case dtype::bool_: return converted<bool, T>();
        }
        throw snn::invalid_argument("dtype", "not a valid snn::io::dtype");  // unreachable: checked on construction
    }

private:
    template <class T>
    void require_type() const {
        if (dtype_of<T>() != type_) {
            throw snn::invalid_argument("dtype", std::string("the array holds ") + dtype_name(type_) +
                                                     ", asked for " + dtype_name(dtype_of<T>()));
        }
    }

    template <class Source, class Target>
    std::vector<Target> converted() const {
        const Source* source = reinterpret_cast<const Source*>(storage_.data());
        const auto count = static_cast<std::size_t>(elements_);
        if constexpr (std::is_same_v<Source, Target>) {
            return std::vector<Target>(source, source + count);  // keeps NaN payloads bit for bit
        } else {
            std::vector<Target> result(count);
            for (std::size_t i = 0; i < count; ++i) {
                const auto wide = detail::widen(source[i]);
                Target value{};
                if (!detail::narrow(wide, value)) {
                    throw snn::invalid_argument(
                        "T", "element " + std::to_string(i) + " of the " + dtype_name(type_) + " array (" +
                                 detail::value_to_string(wide) + ") does not fit in " +
                                 dtype_name(dtype_of<Target>()));
                }
                result[i] = value;
            }
            return result;
        }
    }

    dtype type_;
    std::vector<std::int64_t> shape_;
    std::int64_t elements_ = 0;
    std::vector<std::byte> storage_;
};

namespace detail {

// ------------------------------------------------------------------------------------------
// The .npy layout: magic "\x93NUMPY", major and minor version bytes, header length
// (little-endian, 2 bytes in version 1.0, 4 bytes in 2.0 and 3.0), the header (a Python dict
// literal, padded with spaces and ended by '\n'), then the raw data.
// ------------------------------------------------------------------------------------------

inline constexpr unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
inline constexpr std::size_t npy_longest_preamble = 12;
// numpy starts the data on a 64-byte boundary so that a file can be memory-mapped with any alignment.
inline constexpr std::size_t npy_data_alignment = 64;
// numpy leaves room for the growing axis to reach this many digits, so that appending to a
// file only needs the header rewritten in place.
inline constexpr std::size_t npy_growth_axis_max_digits = 21;

struct npy_preamble {
    int major_version;
    std::size_t header_offset;   // where the header text starts
    std::uint64_t header_length; // its length in bytes, padding included
};

inline npy_preamble parse_preamble(const std::byte* data, std::size_t size, const std::string& name) {
    for (std::size_t i = 0; i < sizeof npy_magic; ++i) {
        if (i >= size || std::to_integer<unsigned char>(data[i]) != npy_magic[i]) {
            const std::string too_short =
                size < sizeof npy_magic ? ", and is only " + std::to_string(size) + " bytes long" : "";
            throw snn::invalid_argument(
                name, "bad magic: not an .npy file (it should start with \\x93NUMPY" + too_short + ")");
        }
    }
    if (size < 8) throw snn::invalid_argument(name, "truncated preamble: no format version after the magic");
    const int major = std::to_integer<int>(data[6]);
    const int minor = std::to_integer<int>(data[7]);
    if (major < 1 || major > 3 || minor != 0) {
        throw snn::invalid_argument(name, "unsupported .npy format version " + std::to_string(major) + "." +
                                              std::to_string(minor) + " (1.0, 2.0 and 3.0 are supported)");
    }
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    if (size < 8 + length_bytes) {
        throw snn::invalid_argument(name, "truncated preamble: the header length field of format " +
                                              std::to_string(major) + ".0 needs " + std::to_string(length_bytes) +
                                              " bytes");
    }
    std::uint64_t header_length = 0;
    for (std::size_t i = length_bytes; i-- > 0;) {
        header_length = (header_length << 8) | std::to_integer<std::uint64_t>(data[8 + i]);
    }
    return {major, 8 + length_bytes, header_length};
}

/// What the header dict says, once checked.
struct npy_header {
    dtype type = dtype::float64;
    std::vector<std::int64_t> shape;
};

struct dtype_code {
    dtype type;
    const char* code;  // numpy's type string without the byte-order character
};
inline constexpr dtype_code dtype_codes[] = {
    {dtype::float16, "f2"}, {dtype::float32, "f4"}, {dtype::float64, "f8"}, {dtype::int8, "i1"},
    {dtype::int16, "i2"},   {dtype::int32, "i4"},   {dtype::int64, "i8"},   {dtype::uint8, "u1"},
    {dtype::uint16, "u2"},  {dtype::uint32, "u4"},  {dtype::uint64, "u8"},  {dtype::bool_, "b1"},
};

/// The descr numpy writes for `type`: '|' (byte order not applicable) for one-byte types,
/// '<' (little-endian) for the others.
inline std::string descr_of(dtype type) {
    for (const dtype_code& entry : dtype_codes) {
        if (entry.type == type) return (dtype_size(type) == 1 ? "|" : "<") + std::string(entry.code);
    }
    throw snn::invalid_argument("dtype", "not a valid snn::io::dtype");
}

/// Parses the header: a Python dict literal with exactly the keys 'descr' (a type string),
/// 'fortran_order' (True or False) and 'shape' (a tuple of non-negative integers), in any
/// order, with any spacing and an optional trailing comma. Anything else numpy's reader would
/// reject is rejected too; the one leniency is that "(5)" is read as "(5,)".
class header_parser {
public:
    header_parser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

    npy_header parse() {
        skip_whitespace();
        if (!at('{')) fail("header is not a dict (it does not start with '{')");
        ++position_;
        npy_header header;
        bool has_descr = false, has_fortran_order = false, has_shape = false, fortran_order = false;
        while (!consume('}')) {
            const std::string key(parse_string("key"));
            if (!consume(':')) syntax_error("expected ':' after key '" + key + "'");
            if (key == "descr") {
                if (has_descr) fail("duplicate key 'descr'");
                header.type = parse_descr();
                has_descr = true;
            } else if (key == "fortran_order") {
                if (has_fortran_order) fail("duplicate key 'fortran_order'");
                fortran_order = parse_bool(key);
                has_fortran_order = true;
            } else if (key == "shape") {
                if (has_shape) fail("duplicate key 'shape'");
                header.shape = parse_shape();
                has_shape = true;
            } else {
                fail("unexpected key '" + key +
                     "' (an .npy header holds exactly 'descr', 'fortran_order' and 'shape')");
            }
            if (consume(',')) continue;  // a trailing comma before '}' is fine too
            skip_whitespace();
            if (!at('}')) syntax_error("expected ',' or '}' after the value of '" + key + "'");
        }
        skip_whitespace();  // the padding: spaces and the final '\n'
        if (position_ != text_.size()) syntax_error("unexpected characters after the header dict");
        if (!has_descr) fail("missing key 'descr'");
        if (!has_fortran_order) fail("missing key 'fortran_order'");
        if (!has_shape) fail("missing key 'shape'");
        if (fortran_order) {
            fail("fortran_order True is not supported (save a C-ordered array: numpy.ascontiguousarray)");
        }
        return header;
    }

private:
    [[noreturn]] void fail(const std::string& reason) const {
        throw snn::invalid_argument(name_, "npy header: " + reason);
    }
    [[noreturn]] void syntax_error(const std::string& reason) const {
        fail(reason + (position_ < text_.size() ? " at header character " + std::to_string(position_)
                                                : " at the end of the header"));
    }

    bool at(char c) const { return position_ < text_.size() && text_[position_] == c; }

    void skip_whitespace() {
        while (at(' ') || at('\t') || at('\n') || at('\r')) ++position_;
    }

    /// Skips whitespace, then consumes `c` if it comes next.
    bool consume(char c) {
        skip_whitespace();
        if (!at(c)) return false;
        ++position_;
        return true;
    }

    /// A string in single or double quotes (numpy never writes escape sequences).
    std::string_view parse_string(const char* what) {
        skip_whitespace();
        if (!at('\'') && !at('"')) syntax_error(std::string("expected a quoted ") + what);
        const char quote = text_[position_++];
        const std::size_t end = text_.find(quote, position_);
        if (end == std::string_view::npos) syntax_error(std::string("unterminated ") + what);
        const std::string_view value = text_.substr(position_, end - position_);
        position_ = end + 1;
        return value;
    }

    bool parse_bool(const std::string& key) {
        skip_whitespace();
        for (const bool value : {true, false}) {
            const std::string_view word = value ? "True" : "False";
            if (text_.substr(position_, word.size()) == word) {
                position_ += word.size();
                return value;
            }
        }
        syntax_error("expected True or False for '" + key + "'");
    }

    dtype parse_descr() {
        skip_whitespace();
        if (at('[')) fail("structured dtypes are not supported (descr is a list)");
        const std::string descr(parse_string("descr string"));
        std::string_view code = descr;
        char byte_order = '=';  // none given means native, as for numpy.dtype('f4')
        if (!code.empty() && std::string_view("<>=|").find(code.front()) != std::string_view::npos) {
            byte_order = code.front();
            code.remove_prefix(1);
        }
        for (const dtype_code& entry : dtype_codes) {
            if (code != entry.code) continue;
            if (dtype_size(entry.type) > 1) {
                // For one-byte types the byte order is irrelevant, whatever the character says.
                if (byte_order == '>') {
                    fail("big-endian dtype '" + descr + "' is not supported (convert it with numpy: "
                         "a.astype(a.dtype.newbyteorder('<')))");
                }
                if (byte_order == '|') {
                    fail("dtype '" + descr + "' is ambiguous: a multi-byte type needs a byte order such as '<" +
                         std::string(code) + "'");
                }
            }
            return entry.type;
        }
        fail("unknown dtype '" + descr + "' (supported: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)");
    }

    std::vector<std::int64_t> parse_shape() {
        if (!consume('(')) syntax_error("expected a tuple such as (2, 3) for 'shape'");
        std::vector<std::int64_t> shape;
        if (consume(')')) return shape;
        for (;;) {
            shape.push_back(parse_dimension(shape.size()));
            if (consume(')')) return shape;
            if (!consume(',')) syntax_error("expected ',' or ')' in 'shape'");
            if (consume(')')) return shape;  // trailing comma, as in "(5,)"
        }
    }

    std::int64_t parse_dimension(std::size_t index) {
        skip_whitespace();
        const bool negative = at('-');
        if (negative) ++position_;
        const std::size_t first_digit = position_;
        while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') ++position_;
        const std::string_view digits = text_.substr(first_digit, position_ - first_digit);
        if (digits.empty()) syntax_error("expected an integer in 'shape'");
        std::int64_t value = 0;
        for (const char digit : digits) {
            const int digit_value = digit - '0';
            if (value > (std::numeric_limits<std::int64_t>::max() - digit_value) / 10) {
                fail("shape dimension " + std::to_string(index) + " (" + std::string(digits) +
                     ") overflows a 64-bit integer");
            }
            value = value * 10 + digit_value;
        }
        if (negative && value != 0) {
            fail("shape dimension " + std::to_string(index) + " is negative (-" + std::string(digits) + ")");
        }
        return value;
    }

    std::string_view text_;
    std::size_t position_ = 0;
    const std::string& name_;
};

/// Where everything is in an .npy file, checked against the file's size.
struct npy_layout {
    npy_header header;
    std::uint64_t data_offset;
    std::size_t data_bytes;
};

/// Parses and checks the preamble and header held in the `head_size` bytes at `head`, the start
/// of an .npy file that is `total_size` bytes long (head_size <= total_size). Reads nothing
/// past `head + head_size`.
inline npy_layout parse_layout(const std::byte* head, std::size_t head_size, std::uint64_t total_size,
                               const std::string& name) {
    const npy_preamble preamble = parse_preamble(head, head_size, name);
    const std::uint64_t header_end = preamble.header_offset + preamble.header_length;  // < 2^33: no overflow
    if (header_end > head_size) {
        throw snn::invalid_argument(name, "truncated header: the preamble announces " +
                                              std::to_string(preamble.header_length) + " header bytes, only " +
                                              std::to_string(head_size - preamble.header_offset) + " follow");
    }
    const std::string_view text(reinterpret_cast<const char*>(head + preamble.header_offset),
                                static_cast<std::size_t>(preamble.header_length));
    npy_header header = header_parser(text, name).parse();
    const array_extent extent = checked_extent(header.shape, dtype_size(header.type), name);
    const std::uint64_t available = total_size - header_end;
    const std::string needs = "shape " + shape_to_string(header.shape) + " of " + dtype_name(header.type) +
                              " needs " + std::to_string(extent.bytes) + " bytes of data, the file has " +
                              std::to_string(available);
    if (available < extent.bytes) throw snn::invalid_argument(name, "data too short: " + needs);
    if (available > extent.bytes) throw snn::invalid_argument(name, "trailing bytes after the data: " + needs);
    return {std::move(header), header_end, extent.bytes};
}

/// A C++ bool may only hold 0 or 1, but numpy reads any nonzero byte as True: make it so.
inline void normalize_bools(npy_array& array) {
    if (array.type() != dtype::bool_) return;
    std::byte* bytes = array.bytes();
    for (std::size_t i = 0; i < array.size_bytes(); ++i) {
        bytes[i] = static_cast<std::byte>(bytes[i] != std::byte{0});
    }
}

/// Preamble and header text for an array of `type` and `shape`, exactly as numpy.save writes
/// them: version 1.0 unless the header needs more than 65535 bytes, then 2.0.
inline std::string header_bytes(dtype type, const std::vector<std::int64_t>& shape) {
    std::string dict = "{'descr': '" + descr_of(type) + "', 'fortran_order': False, 'shape': " +
                       shape_to_string(shape) + ", }";
    if (!shape.empty()) dict.append(npy_growth_axis_max_digits - std::to_string(shape.front()).size(), ' ');
    for (const int major_version : {1, 2}) {
        const std::size_t length_bytes = major_version == 1 ? 2 : 4;
        const std::size_t unpadded = sizeof npy_magic + 2 + length_bytes + dict.size() + 1;  // + '\n'
        // Like numpy, pad with 1 to 64 spaces (never none) so that the data starts aligned.
        const std::size_t padding = npy_data_alignment - unpadded % npy_data_alignment;
        const std::size_t header_length = dict.size() + padding + 1;
        if (major_version == 1 && header_length > 0xFFFF) continue;
        std::string bytes(reinterpret_cast<const char*>(npy_magic), sizeof npy_magic);
        bytes += static_cast<char>(major_version);
        bytes += '\0';
        for (std::size_t i = 0; i < length_bytes; ++i) {
            bytes += static_cast<char>((header_length >> (8 * i)) & 0xFF);
        }
        bytes += dict;
        bytes.append(padding, ' ');
        bytes += '\n';
        return bytes;
    }
    // Version 2.0 holds 4 GiB of header; a shape needing more could not have been allocated.
    throw snn::invalid_argument("shape", "too many dimensions for an .npy header");
}

// ------------------------------------------------------------------------------------------
// Files
// ------------------------------------------------------------------------------------------

struct file_closer {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};
using unique_file = std::unique_ptr<std::FILE, file_closer>;

[[noreturn]] inline void throw_io_error(const std::string& action, const std::string& path, int error_number) {
    throw snn::io_error("cannot " + action + " '" + path + "': " + std::strerror(error_number));
}

inline unique_file open_file(const std::string& path, const char* mode, const char* action) {
    errno = 0;
    unique_file file(std::fopen(path.c_str(), mode));
    if (!file) throw_io_error(action, path, errno);
    return file;
}

/// Appends up to `count` bytes read from `file` to `buffer` (fewer at end of file).
inline void append_from_file(std::FILE* file, const std::string& path, std::vector<std::byte>& buffer,
                             std::size_t count) {
    const std::size_t old_size = buffer.size();
    buffer.resize(old_size + count);
    const std::size_t got = count == 0 ? 0 : std::fread(buffer.data() + old_size, 1, count, file);
    buffer.resize(old_size + got);
    if (std::ferror(file)) throw_io_error("read", path, errno);
}

/// Total size of a seekable file, leaving the read position where it was; nothing for a pipe.
inline std::optional<std::uint64_t> seekable_file_size(std::FILE* file, const std::string& path) {
    const long position = std::ftell(file);
    if (position < 0 || std::fseek(file, 0, SEEK_END) != 0) return std::nullopt;
    const long end = std::ftell(file);
    if (std::fseek(file, position, SEEK_SET) != 0) throw_io_error("seek in", path, errno);
    if (end < 0) return std::nullopt;
    return static_cast<std::uint64_t>(end);
}

}  // namespace detail

// ------------------------------------------------------------------------------------------
// Reading and writing
// ------------------------------------------------------------------------------------------

/// Parses the `.npy` file held in memory at `data` (`size` bytes). `name_for_errors` (a path,
/// say) is the argument named by the `invalid_argument` thrown for a malformed file.
inline npy_array parse_npy(const std::byte* data, std::size_t size, const std::string& name_for_errors) {
    snn::require(data != nullptr || size == 0, "data", "null pointer with a size of " + std::to_string(size));
    detail::npy_layout layout = detail::parse_layout(data, size, size, name_for_errors);
    npy_array array(layout.header.type, std::move(layout.header.shape));
    if (layout.data_bytes > 0) {
        std::memcpy(array.bytes(), data + layout.data_offset, layout.data_bytes);
    }
    detail::normalize_bools(array);
    return array;
}

/// Reads the `.npy` file at `path`. Throws `io_error` when it cannot be opened or read,
/// `invalid_argument(path)` when it is malformed or holds an unsupported array.
inline npy_array read_npy(const std::string& path) {
    const detail::unique_file file = detail::open_file(path, "rb", "open for reading");
    std::vector<std::byte> head;
    detail::append_from_file(file.get(), path, head, detail::npy_longest_preamble);

    const std::optional<std::uint64_t> file_size = detail::seekable_file_size(file.get(), path);
    if (!file_size) {
        // A pipe: its size is unknown until it is read, so read all of it and parse from memory.
        for (std::size_t got = 1; got > 0;) {
            const std::size_t before = head.size();
            detail::append_from_file(file.get(), path, head, std::size_t{1} << 16);
            got = head.size() - before;
        }
        return parse_npy(head.data(), head.size(), path);
    }

    // Read only the header into memory, then the data straight into the array, once the header
    // has been checked against the file size (so a forged shape cannot make us allocate more
    // than the file holds).
    const detail::npy_preamble preamble = detail::parse_preamble(head.data(), head.size(), path);
    const std::uint64_t header_end = std::min(preamble.header_offset + preamble.header_length, *file_size);
    if (header_end > head.size()) {
        detail::append_from_file(file.get(), path, head, static_cast<std::size_t>(header_end - head.size()));
    }
    detail::npy_layout layout = detail::parse_layout(head.data(), head.size(), *file_size, path);

    npy_array array(layout.header.type, std::move(layout.header.shape));
    if (layout.data_bytes > 0) {
        // The 12 bytes read for the preamble may already reach into the data.
        if (layout.data_offset > static_cast<std::uint64_t>(LONG_MAX) ||
            std::fseek(file.get(), static_cast<long>(layout.data_offset), SEEK_SET) != 0) {
            detail::throw_io_error("seek in", path, errno);
        }
        const std::size_t got = std::fread(array.bytes(), 1, layout.data_bytes, file.get());
        if (std::ferror(file.get())) detail::throw_io_error("read", path, errno);
        if (got != layout.data_bytes) {
            throw snn::io_error("cannot read '" + path + "': the file shrank while it was being read");
        }
    }
    detail::normalize_bools(array);
    return array;
}

namespace detail {

inline void write_npy_file(const std::string& path, dtype type, const std::vector<std::int64_t>& shape,
                           const std::byte* data) {
    const array_extent extent = checked_extent(shape, dtype_size(type), "shape");
    snn::require(data != nullptr || extent.bytes == 0, "data",
                 "null pointer for " + std::to_string(extent.elements) + " elements");
    const std::string header = header_bytes(type, shape);

    unique_file file = open_file(path, "wb", "open for writing");
    const bool written = std::fwrite(header.data(), 1, header.size(), file.get()) == header.size() &&
                         (extent.bytes == 0 || std::fwrite(data, 1, extent.bytes, file.get()) == extent.bytes);
    if (!written) throw_io_error("write", path, errno);
    // fclose flushes the buffer: a full disk may only show up here.
    if (std::fclose(file.release()) != 0) throw_io_error("write", path, errno);
}

}  // namespace detail

/// Writes `array` to `path` as numpy.save would (format 1.0, or 2.0 for a header over 64 KiB).
inline void write_npy(const std::string& path, const npy_array& array) {
    detail::write_npy_file(path, array.type(), array.shape(), array.bytes());
}

/// Writes the array of `shape` whose elements (in C order) are at `data`.
template <class T>
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const T* data) {
    detail::write_npy_file(path, dtype_of<T>(), shape, reinterpret_cast<const std::byte*>(data));
}

}  // namespace snn::io
