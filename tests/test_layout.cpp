// Tests for snn/layout: mapping offsets, sequence views, fold/unfold and layout conversions.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "snn/core/binary16.hpp"
#include "snn/core/error.hpp"
#include "snn/layout/layout.hpp"

namespace {

using snn::layout::axis;
using snn::layout::batch_major;
using snn::layout::sequence_view;
using snn::layout::time_folded;
using snn::layout::time_major;
using snn::layout::time_minor;

// Element types with no vector path (odd size, oversized) must still convert bit for bit.
struct three_bytes {
    std::uint8_t bytes[3];
};
struct two_doubles {
    double first;
    double second;
};

/// Runs `action`, which must throw snn::invalid_argument blaming `argument`.
void check_invalid(const std::function<void()>& action, const std::string& argument) {
    bool threw = false;
    try {
        action();
    } catch (const snn::invalid_argument& error) {
        threw = true;
        CHECK(error.argument() == argument);
        CHECK(std::string(error.what()).find(argument) != std::string::npos);
    }
    CHECK_MESSAGE(threw, "expected snn::invalid_argument naming " << argument);
}

/// Random bytes, so float lanes include NaNs with payloads: equality must be bitwise.
template <class Element>
std::vector<Element> random_elements(std::int64_t count, std::uint64_t seed) {
    std::vector<Element> elements(static_cast<std::size_t>(count));
    std::mt19937_64 generator(seed);
    std::vector<unsigned char> bytes(elements.size() * sizeof(Element));
    for (unsigned char& byte : bytes)
        byte = static_cast<unsigned char>(generator());
    if (!bytes.empty()) std::memcpy(elements.data(), bytes.data(), bytes.size());
    return elements;
}

template <class Element>
bool same_bits(const Element& a, const Element& b) {
    return std::memcmp(&a, &b, sizeof(Element)) == 0;
}

/// Number of (t, n, f) whose elements differ bitwise between the two views.
template <class Element, class LayoutA, class LayoutB>
std::int64_t count_mismatches(const sequence_view<const Element, LayoutA>& a,
                              const sequence_view<const Element, LayoutB>& b) {
    std::int64_t mismatches = 0;
    for (std::int64_t t = 0; t < a.time_steps(); ++t)
        for (std::int64_t n = 0; n < a.batch_size(); ++n)
            for (std::int64_t f = 0; f < a.features(); ++f)
                if (!same_bits(a(t, n, f), b(t, n, f))) ++mismatches;
    return mismatches;
}

struct shape {
    std::int64_t time_steps;
    std::int64_t batch_size;
    std::int64_t features;
};

/// T = 1, 3, 17 (and block-friendly 2, 4, 8, 32) times N * F = 1, 5, 1000, 4099 (and a few
/// more) split several ways, so tiles, register blocks and their ragged edges all get exercised.
std::vector<shape> conversion_shapes() {
    const std::int64_t time_steps[] = {1, 2, 3, 4, 8, 17, 32};
    // Small F also makes whole F-rows 2 to 32 bytes long, which take the fixed-size paths.
    const std::pair<std::int64_t, std::int64_t> batch_by_features[] = {
        {1, 1},    {1, 5},    {5, 1},  {8, 125}, {1000, 1}, {1, 1000},
        {1, 4099}, {4099, 1}, {37, 2}, {19, 3},  {33, 4},   {21, 8}};
    std::vector<shape> shapes;
    for (std::int64_t t : time_steps)
        for (const auto& [n, f] : batch_by_features)
            shapes.push_back({t, n, f});
    return shapes;
}

std::string describe(const shape& s) {
    return "T=" + std::to_string(s.time_steps) + " N=" + std::to_string(s.batch_size) +
           " F=" + std::to_string(s.features);
}

/// Converts a time_major sequence into `Layout` and from there into every layout, checking
/// each result element by element and the way back to time_major bit for bit.
template <class Element, class Layout>
void check_conversions_from(const std::vector<Element>& reference, const shape& s) {
    const std::int64_t T = s.time_steps, N = s.batch_size, F = s.features;
    // [T, N, F]
    const sequence_view<const Element, time_major> original(reference.data(), T, N, F);

    std::vector<Element> middle_storage(reference.size());
    const sequence_view<Element, Layout> middle(middle_storage.data(), T, N, F);
    snn::layout::convert(original, middle);
    CHECK(count_mismatches<Element>(original, sequence_view<const Element, Layout>(middle)) == 0);

    const auto to_layout_and_back = [&](auto target_layout) {
        using Target = decltype(target_layout);
        std::vector<Element> target_storage(reference.size());
        const sequence_view<Element, Target> target(target_storage.data(), T, N, F);
        snn::layout::convert(middle, target);  // mutable source views convert too
        CHECK(count_mismatches<Element>(original, sequence_view<const Element, Target>(target)) ==
              0);

        std::vector<Element> back_storage(reference.size());
        snn::layout::convert(sequence_view<const Element, Target>(target),
                             sequence_view<Element, time_major>(back_storage.data(), T, N, F));
        CHECK(std::memcmp(back_storage.data(), reference.data(),
                          reference.size() * sizeof(Element)) == 0);
    };
    to_layout_and_back(time_major{});
    to_layout_and_back(time_minor{});
    to_layout_and_back(batch_major{});
    to_layout_and_back(time_folded{});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Mappings

TEST_CASE("layout mappings: offsets and strides match hand-computed values") {
    // T = 3, N = 2, F = 5; element (t, n, f) = (1, 1, 3).
    constexpr time_major::mapping major(3, 2, 5);  // [T, N, F]
    constexpr time_minor::mapping minor(3, 2, 5);  // [N, F, T]
    constexpr batch_major::mapping batch(3, 2, 5);  // [N, T, F]
    constexpr time_folded::mapping folded(3, 2, 5);  // [T * N, F]

    static_assert(major(1, 1, 3) == (1 * 2 + 1) * 5 + 3, "time_major offset");
    CHECK(major(1, 1, 3) == 18);
    CHECK(minor(1, 1, 3) == 25);  // (n * F + f) * T + t = (5 + 3) * 3 + 1
    CHECK(batch(1, 1, 3) == 23);  // (n * T + t) * F + f = (3 + 1) * 5 + 3
    CHECK(folded(1, 1, 3) == 18);  // same bytes as time_major
    CHECK(folded(3, 3) == 18);  // row t * N + n = 3
    CHECK(major(0, 0, 0) == 0);
    CHECK(minor(2, 1, 4) == 29);
    CHECK(batch(2, 1, 4) == 29);

    CHECK(major.stride(axis::time) == 10);
    CHECK(major.stride(axis::batch) == 5);
    CHECK(major.stride(axis::feature) == 1);
    CHECK(minor.stride(axis::time) == 1);
    CHECK(minor.stride(axis::batch) == 15);
    CHECK(minor.stride(axis::feature) == 3);
    CHECK(batch.stride(axis::time) == 5);
    CHECK(batch.stride(axis::batch) == 15);
    CHECK(batch.stride(axis::feature) == 1);
    CHECK(folded.stride(axis::time) == 10);
    CHECK(folded.rows() == 6);

    CHECK(major.extent(axis::time) == 3);
    CHECK(minor.extent(axis::batch) == 2);
    CHECK(batch.extent(axis::feature) == 5);
    CHECK(major.time_steps() == 3);
    CHECK(major.batch_size() == 2);
    CHECK(major.features() == 5);
    for (const std::int64_t span : {major.required_span_size(), minor.required_span_size(),
                                    batch.required_span_size(), folded.required_span_size()})
        CHECK(span == 30);

    static_assert(time_major::mapping::is_always_exhaustive(), "");
    static_assert(time_minor::mapping::is_always_exhaustive(), "");
    static_assert(batch_major::mapping::is_always_exhaustive(), "");
    static_assert(time_folded::mapping::is_always_exhaustive(), "");
    static_assert(
        time_minor::mapping::is_always_unique() && time_minor::mapping::is_always_strided(), "");
}

TEST_CASE("layout mappings: every offset is stride-consistent and each layout is a bijection") {
    const std::int64_t T = 4, N = 3, F = 7;
    const auto check_mapping = [&](const auto& mapping) {
        std::vector<int> hits(static_cast<std::size_t>(mapping.required_span_size()), 0);
        for (std::int64_t t = 0; t < T; ++t)
            for (std::int64_t n = 0; n < N; ++n)
                for (std::int64_t f = 0; f < F; ++f) {
                    const std::int64_t offset = mapping(t, n, f);
                    REQUIRE(offset >= 0);
                    REQUIRE(offset < mapping.required_span_size());
                    CHECK(offset == t * mapping.stride(axis::time) +
                                        n * mapping.stride(axis::batch) +
                                        f * mapping.stride(axis::feature));
                    ++hits[static_cast<std::size_t>(offset)];
                }
        for (int count : hits)
            CHECK(count == 1);
    };
    check_mapping(time_major::mapping(T, N, F));
    check_mapping(time_minor::mapping(T, N, F));
    check_mapping(batch_major::mapping(T, N, F));
    check_mapping(time_folded::mapping(T, N, F));
}

TEST_CASE("layout mappings: offsets beyond 2^32 do not overflow") {
    const std::int64_t T = 3, N = std::int64_t(1) << 20, F = std::int64_t(1) << 12;
    const std::int64_t last = T * N * F - 1;  // 3 * 2^32 - 1
    CHECK(time_major::mapping(T, N, F)(T - 1, N - 1, F - 1) == last);
    CHECK(time_minor::mapping(T, N, F)(T - 1, N - 1, F - 1) == last);
    CHECK(batch_major::mapping(T, N, F)(T - 1, N - 1, F - 1) == last);
    CHECK(time_folded::mapping(T, N, F)(T * N - 1, F - 1) == last);
    CHECK(time_minor::mapping(T, N, F)(0, N - 1, 0) == (N - 1) * F * T);
}

// ---------------------------------------------------------------------------------------------
// Views, fold and unfold

TEST_CASE("sequence_view: element access goes through the layout mapping") {
    std::vector<int> storage(30);
    for (std::size_t i = 0; i < storage.size(); ++i)
        storage[i] = static_cast<int>(i);

    const sequence_view<int, time_minor> minor(storage.data(), 3, 2, 5);  // [N, F, T]
    CHECK(minor(1, 1, 3) == 25);
    CHECK(minor.size() == 30);
    CHECK(minor.time_steps() == 3);
    CHECK(minor.batch_size() == 2);
    CHECK(minor.features() == 5);
    CHECK(minor.stride(axis::feature) == 3);
    CHECK(minor.extent(axis::time) == 3);
    CHECK(minor.data() == storage.data());

    minor(2, 0, 4) = -1;  // writes land at (n * F + f) * T + t = 14
    CHECK(storage[14] == -1);

    const sequence_view<const int, time_minor> read_only = minor;  // mutable -> const view
    CHECK(read_only(2, 0, 4) == -1);
    CHECK(read_only.mapping().required_span_size() == 30);

    const sequence_view<int, batch_major> batch(storage.data(), batch_major::mapping(3, 2, 5));
    CHECK(batch(1, 1, 3) == 23);

    const sequence_view<int, time_folded> folded(storage.data(), 3, 2, 5);  // [T * N, F]
    CHECK(folded(4, 2) == 22);
    CHECK(folded(2, 0, 2) == 22);
}

TEST_CASE("fold_time / unfold_time reinterpret the same memory") {
    std::vector<float> storage(3 * 4 * 5);
    for (std::size_t i = 0; i < storage.size(); ++i)
        storage[i] = static_cast<float>(i);
    const sequence_view<float, time_major> sequence(storage.data(), 3, 4, 5);  // [T, N, F]

    const auto folded = snn::layout::fold_time(sequence);  // [T * N, F]
    static_assert(std::is_same_v<decltype(folded), const sequence_view<float, time_folded>>, "");
    CHECK(folded.data() == storage.data());
    CHECK(folded.mapping().rows() == 12);
    CHECK(folded.features() == 5);
    for (std::int64_t t = 0; t < 3; ++t)
        for (std::int64_t n = 0; n < 4; ++n)
            for (std::int64_t f = 0; f < 5; ++f) {
                CHECK(&folded(t * 4 + n, f) == &sequence(t, n, f));
                CHECK(&folded(t, n, f) == &sequence(t, n, f));
            }

    const auto unfolded = snn::layout::unfold_time(folded, 3);  // [T, N, F] again
    CHECK(unfolded.data() == storage.data());
    CHECK(unfolded.mapping().same_extents(sequence.mapping()));

    // The 12 folded rows split any way T divides them.
    const auto six_steps = snn::layout::unfold_time(folded, 6);
    CHECK(six_steps.time_steps() == 6);
    CHECK(six_steps.batch_size() == 2);
    CHECK(&six_steps(5, 1, 4) == &storage.back());
    CHECK(snn::layout::unfold_time(folded, 12).batch_size() == 1);
    CHECK(snn::layout::unfold_time(folded, 1).batch_size() == 12);

    // Read-only views fold too.
    const sequence_view<const float, time_major> read_only = sequence;
    const auto folded_read_only = snn::layout::fold_time(read_only);
    static_assert(
        std::is_same_v<decltype(folded_read_only), const sequence_view<const float, time_folded>>,
        "");
    CHECK(folded_read_only(7, 3) == storage[7 * 5 + 3]);
}

// ---------------------------------------------------------------------------------------------
// Conversions

TEST_CASE_TEMPLATE("convert: every layout pair is exact and round-trips bitwise", Element, float,
                   double, std::uint16_t, snn::binary16, std::uint8_t, std::int32_t, three_bytes,
                   two_doubles) {
    std::uint64_t seed = 1;
    for (const shape& s : conversion_shapes()) {
        CAPTURE(describe(s));
        const auto reference =
            random_elements<Element>(s.time_steps * s.batch_size * s.features, seed++);
        check_conversions_from<Element, time_major>(reference, s);
        check_conversions_from<Element, time_minor>(reference, s);
        check_conversions_from<Element, batch_major>(reference, s);
    }
}

TEST_CASE_TEMPLATE("named conversions match the layout mappings", Element, float, double,
                   std::uint16_t, snn::binary16, std::uint8_t, std::int32_t, three_bytes) {
    using namespace snn::layout;
    for (const shape& s :
         // The last two move whole F-rows of 64 KiB and more through the batch-major paths.
         {shape{17, 5, 201}, shape{32, 64, 17}, shape{3, 1000, 1}, shape{16, 1, 4099},
          shape{3, 4, 16384}, shape{2, 3, 20011}}) {
        CAPTURE(describe(s));
        const std::int64_t T = s.time_steps, N = s.batch_size, F = s.features;
        const auto major = random_elements<Element>(T * N * F, 7);  // [T, N, F]
        const sequence_view<const Element, time_major> major_view(major.data(), T, N, F);
        std::vector<Element> minor(major.size()), batch(major.size()), back(major.size());

        time_major_to_time_minor(major.data(), minor.data(), T, N, F);  // -> [N, F, T]
        CHECK(count_mismatches<Element>(major_view, sequence_view<const Element, time_minor>(
                                                        minor.data(), T, N, F)) == 0);
        time_minor_to_time_major(minor.data(), back.data(), T, N, F);
        CHECK(std::memcmp(back.data(), major.data(), major.size() * sizeof(Element)) == 0);

        time_major_to_batch_major(major.data(), batch.data(), T, N, F);  // -> [N, T, F]
        CHECK(count_mismatches<Element>(major_view, sequence_view<const Element, batch_major>(
                                                        batch.data(), T, N, F)) == 0);
        batch_major_to_time_major(batch.data(), back.data(), T, N, F);
        CHECK(std::memcmp(back.data(), major.data(), major.size() * sizeof(Element)) == 0);

        std::vector<Element> minor_from_batch(major.size());
        batch_major_to_time_minor(batch.data(), minor_from_batch.data(), T, N,
                                  F);  // [N, T, F] -> [N, F, T]
        CHECK(std::memcmp(minor_from_batch.data(), minor.data(), minor.size() * sizeof(Element)) ==
              0);
        time_minor_to_batch_major(minor.data(), back.data(), T, N, F);  // [N, F, T] -> [N, T, F]
        CHECK(std::memcmp(back.data(), batch.data(), batch.size() * sizeof(Element)) == 0);
    }
}

TEST_CASE("convert: a Lynxi folded buffer becomes Lava-DL time-minor through its time_major view") {
    const std::int64_t T = 4, N = 3, F = 2;
    std::vector<std::int32_t> lynxi(T * N * F);  // [T * N, F]
    for (std::size_t i = 0; i < lynxi.size(); ++i)
        lynxi[i] = static_cast<std::int32_t>(i);
    const sequence_view<std::int32_t, time_folded> folded(lynxi.data(),
                                                          time_folded::mapping(1, T * N, F));

    std::vector<std::int32_t> lava(lynxi.size());  // [N, F, T]
    snn::layout::convert(snn::layout::unfold_time(folded, T),
                         sequence_view<std::int32_t, time_minor>(lava.data(), T, N, F));
    // Lava element (n, f, t) is Lynxi row t * N + n, column f.
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t f = 0; f < F; ++f)
            for (std::int64_t t = 0; t < T; ++t)
                CHECK(lava[static_cast<std::size_t>((n * F + f) * T + t)] == (t * N + n) * F + f);
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_CASE("named conversions reject bad pointers, extents and aliasing, naming the argument") {
    using namespace snn::layout;
    std::vector<float> src(60), dst(60);
    const float* null_src = nullptr;
    float* null_dst = nullptr;

    check_invalid([&] { time_major_to_time_minor(null_src, dst.data(), 3, 4, 5); }, "src");
    check_invalid([&] { time_minor_to_time_major(src.data(), null_dst, 3, 4, 5); }, "dst");
    check_invalid([&] { batch_major_to_time_major(src.data(), dst.data(), 0, 4, 5); },
                  "time_steps");
    check_invalid([&] { time_major_to_batch_major(src.data(), dst.data(), -3, 4, 5); },
                  "time_steps");
    check_invalid([&] { batch_major_to_time_minor(src.data(), dst.data(), 3, 0, 5); },
                  "batch_size");
    check_invalid([&] { time_minor_to_batch_major(src.data(), dst.data(), 3, -1, 5); },
                  "batch_size");
    check_invalid([&] { time_major_to_time_minor(src.data(), dst.data(), 3, 4, 0); }, "features");
    check_invalid([&] { time_major_to_time_minor(src.data(), dst.data(), 3, 4, -5); }, "features");
    // T * N * F elements that no address space holds.
    const std::int64_t huge = std::int64_t(1) << 40;
    check_invalid([&] { time_major_to_time_minor(src.data(), dst.data(), huge, huge, 1); },
                  "features");

    // In place, and partial overlap either way.
    check_invalid([&] { time_major_to_time_minor(src.data(), src.data(), 3, 4, 5); }, "dst");
    std::vector<float> shared(90);
    check_invalid([&] { time_major_to_time_minor(shared.data(), shared.data() + 30, 3, 4, 5); },
                  "dst");
    check_invalid([&] { time_minor_to_time_major(shared.data() + 30, shared.data(), 3, 4, 5); },
                  "dst");
    // Adjacent but disjoint buffers are fine.
    CHECK_NOTHROW(time_major_to_time_minor(shared.data(), shared.data() + 60, 3, 2, 5));
}

TEST_CASE("convert rejects empty views, mismatched extents and aliasing, naming the argument") {
    using namespace snn::layout;
    std::vector<double> a(60), b(60);
    const sequence_view<const double, time_major> src(a.data(), 3, 4, 5);
    const sequence_view<double, time_minor> dst(b.data(), 3, 4, 5);

    check_invalid([&] { convert(sequence_view<const double, time_major>(), dst); }, "src");
    check_invalid([&] { convert(src, sequence_view<double, time_minor>()); }, "dst");
    check_invalid([&] { convert(src, sequence_view<double, time_minor>(b.data(), 4, 3, 5)); },
                  "dst");
    check_invalid([&] { convert(src, sequence_view<double, batch_major>(b.data(), 3, 4, 4)); },
                  "dst");
    check_invalid([&] { convert(src, sequence_view<double, time_minor>(a.data(), 3, 4, 5)); },
                  "dst");
    check_invalid([&] { convert(src, sequence_view<double, time_folded>(a.data() + 1, 3, 4, 5)); },
                  "dst");
}

TEST_CASE("sequence_view and fold/unfold reject bad input, naming the argument") {
    std::vector<float> storage(60);
    float* null_data = nullptr;
    check_invalid([&] { sequence_view<float, time_major>(null_data, 3, 4, 5); }, "data");
    check_invalid([&] { sequence_view<float, time_major>(storage.data(), 0, 4, 5); }, "time_steps");
    check_invalid([&] { sequence_view<float, time_minor>(storage.data(), 3, -4, 5); },
                  "batch_size");
    check_invalid([&] { sequence_view<float, batch_major>(storage.data(), 3, 4, 0); }, "features");
    check_invalid(
        [&] { sequence_view<float, time_major>(storage.data(), time_major::mapping(3, 0, 5)); },
        "mapping");
    check_invalid(
        [&] { sequence_view<float, time_folded>(null_data, time_folded::mapping(3, 4, 5)); },
        "data");

    const sequence_view<float, time_major> sequence(storage.data(), 3, 4, 5);
    const auto folded = snn::layout::fold_time(sequence);  // 12 rows
    check_invalid([&] { snn::layout::unfold_time(folded, 5); }, "time_steps");
    check_invalid([&] { snn::layout::unfold_time(folded, 0); }, "time_steps");
    check_invalid([&] { snn::layout::unfold_time(folded, -3); }, "time_steps");
    check_invalid([&] { snn::layout::unfold_time(sequence_view<float, time_folded>(), 3); },
                  "folded");
    check_invalid([&] { snn::layout::fold_time(sequence_view<float, time_major>()); }, "sequence");
}
