#pragma once
/// \file
/// `sequence_view`: a non-owning pointer + layout mapping over a [T, N, F] sequence, and the
/// zero-copy reinterpretations between [T, N, F] and the folded [T * N, F].

#include <cstdint>
#include <string>
#include <type_traits>

#include "snn/config.hpp"
#include "snn/core/error.hpp"
#include "snn/layout/mapping.hpp"

namespace snn::layout {

/// Non-owning view of T * N * F elements stored in `Layout` (time_major, time_minor,
/// batch_major or time_folded). Copy it freely, including into device kernels; it never owns or
/// frees the memory. `Element` may be const for read-only views.
template <class Element, class Layout>
class sequence_view {
public:
    using element_type = Element;
    using value_type = std::remove_cv_t<Element>;
    using layout_type = Layout;
    using mapping_type = typename Layout::mapping;
    using index_type = std::int64_t;

    /// An empty view (null data); every snn function taking a view rejects it.
    sequence_view() = default;

    /// Checked on the host: `data` must be non-null and the extents positive.
    sequence_view(Element* data, const mapping_type& mapping) : data_(data), mapping_(mapping) {
        require(data != nullptr, "data", "must not be null");
        check_extents(mapping.time_steps(), mapping.batch_size(), mapping.features(),
                      sizeof(Element), "mapping");
    }

    sequence_view(Element* data, index_type time_steps, index_type batch_size, index_type features)
        : data_(data), mapping_(time_steps, batch_size, features) {
        require(data != nullptr, "data", "must not be null");
        check_extents(time_steps, batch_size, features, sizeof(Element));
    }

    /// A view of mutable elements is also a view of const ones (never the other way round).
    template <class OtherElement,
              std::enable_if_t<!std::is_same_v<OtherElement, Element> &&
                                   std::is_convertible_v<OtherElement (*)[], Element (*)[]>,
                               int> = 0>
    SNN_HOST_DEVICE sequence_view(const sequence_view<OtherElement, Layout>& other)
        : data_(other.data()), mapping_(other.mapping()) {}

    /// Element at (t, n, f); time_folded views also accept (row, f). Unchecked, like mdspan.
    template <class... Indices>
    SNN_HOST_DEVICE Element& operator()(Indices... indices) const {
        static_assert((std::is_integral_v<Indices> && ...),
                      "sequence_view indices must be integers");
        return data_[mapping_(static_cast<index_type>(indices)...)];
    }

    SNN_HOST_DEVICE Element* data() const { return data_; }
    SNN_HOST_DEVICE const mapping_type& mapping() const { return mapping_; }

    SNN_HOST_DEVICE index_type time_steps() const { return mapping_.time_steps(); }
    SNN_HOST_DEVICE index_type batch_size() const { return mapping_.batch_size(); }
    SNN_HOST_DEVICE index_type features() const { return mapping_.features(); }
    SNN_HOST_DEVICE index_type extent(axis which) const { return mapping_.extent(which); }
    SNN_HOST_DEVICE index_type stride(axis which) const { return mapping_.stride(which); }
    /// Number of elements viewed (T * N * F).
    SNN_HOST_DEVICE index_type size() const { return mapping_.required_span_size(); }

private:
    Element* data_ = nullptr;
    mapping_type mapping_{};
};

/// [T, N, F] -> [T * N, F] over the same memory: row t * N + n is sample n at step t, which is
/// how Lynxi / BIDL feed a whole sequence through a stateless layer as one big batch.
template <class Element>
sequence_view<Element, time_folded> fold_time(const sequence_view<Element, time_major>& sequence) {
    require(sequence.data() != nullptr, "sequence", "is an empty view (null data)");
    return sequence_view<Element, time_folded>(
        sequence.data(),
        time_folded::mapping(sequence.time_steps(), sequence.batch_size(), sequence.features()));
}

/// [T * N, F] -> [T, N, F] over the same memory, splitting the T * N rows into `time_steps`
/// steps of rows / time_steps samples (whatever split the folded view was made with).
template <class Element>
sequence_view<Element, time_major> unfold_time(const sequence_view<Element, time_folded>& folded,
                                               std::int64_t time_steps) {
    require(folded.data() != nullptr, "folded", "is an empty view (null data)");
    const std::int64_t rows = folded.mapping().rows();
    require(time_steps > 0, "time_steps",
            "must be positive (got " + std::to_string(time_steps) + ")");
    require(rows % time_steps == 0, "time_steps",
            std::to_string(time_steps) +
                " does not divide the folded extent T * N = " + std::to_string(rows));
    return sequence_view<Element, time_major>(
        folded.data(), time_major::mapping(time_steps, rows / time_steps, folded.features()));
}

}  // namespace snn::layout
