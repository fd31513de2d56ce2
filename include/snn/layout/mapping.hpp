#pragma once
/// \file
/// Index mappings for the ways SNN frameworks lay a spike sequence out in memory, in the
/// spirit of std::mdspan's layout mappings (C++17, no mdspan dependency):
///
///   layout       | memory shape | framework             | offset of (t, n, f)
///   -------------|--------------|-----------------------|--------------------
///   time_major   | [T, N, F]    | SpikingJelly, snn     | (t * N + n) * F + f
///   time_folded  | [T * N, F]   | Lynxi / BIDL          | (t * N + n) * F + f
///   time_minor   | [N, F, T]    | Lava-DL               | (n * F + f) * T + t
///   batch_major  | [N, T, F]    | BIDL (batch first)    | (n * T + t) * F + f
///
/// F is the product of all trailing feature dimensions (C*H*W for images): every layout keeps
/// the feature dimensions together and in row-major order, so flattening them loses nothing.
/// Indices and extents are std::int64_t because T*N*F routinely exceeds 2^31 elements.
///
/// Mappings are plain aggregates of extents and do no checking (they must work in device
/// code); `check_extents` and the checked `sequence_view` constructors validate on the host.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "snn/config.hpp"
#include "snn/core/error.hpp"

namespace snn::layout {

/// The three logical axes of a sequence, whatever their order in memory.
enum class axis { time, batch, feature };

/// Memory order of the logical axes, outermost first. time_major and time_folded share one.
enum class storage_order {
    time_batch_feature,  // [T, N, F]
    batch_feature_time,  // [N, F, T]
    batch_time_feature,  // [N, T, F]
};

namespace detail {

/// Extents shared by every mapping. Kept in a base so the four mappings differ only in the
/// offset arithmetic, which is the part worth reading.
class sequence_extents {
public:
    sequence_extents() = default;
    SNN_HOST_DEVICE constexpr sequence_extents(std::int64_t time_steps, std::int64_t batch_size,
                                               std::int64_t features)
        : time_steps_(time_steps), batch_size_(batch_size), features_(features) {}

    SNN_HOST_DEVICE constexpr std::int64_t time_steps() const { return time_steps_; }
    SNN_HOST_DEVICE constexpr std::int64_t batch_size() const { return batch_size_; }
    SNN_HOST_DEVICE constexpr std::int64_t features() const { return features_; }

    SNN_HOST_DEVICE constexpr std::int64_t extent(axis which) const {
        return which == axis::time ? time_steps_ : which == axis::batch ? batch_size_ : features_;
    }

    /// Elements the underlying buffer must hold: T * N * F (every layout is exhaustive).
    SNN_HOST_DEVICE constexpr std::int64_t required_span_size() const {
        return time_steps_ * batch_size_ * features_;
    }

    SNN_HOST_DEVICE static constexpr bool is_always_unique() { return true; }
    SNN_HOST_DEVICE static constexpr bool is_always_exhaustive() { return true; }
    SNN_HOST_DEVICE static constexpr bool is_always_strided() { return true; }
    SNN_HOST_DEVICE static constexpr bool is_unique() { return true; }
    SNN_HOST_DEVICE static constexpr bool is_exhaustive() { return true; }
    SNN_HOST_DEVICE static constexpr bool is_strided() { return true; }

    /// Same T, N and F (the layouts may differ).
    SNN_HOST_DEVICE constexpr bool same_extents(const sequence_extents& other) const {
        return time_steps_ == other.time_steps_ && batch_size_ == other.batch_size_ &&
               features_ == other.features_;
    }

protected:
    std::int64_t time_steps_ = 0;
    std::int64_t batch_size_ = 0;
    std::int64_t features_ = 0;
};

inline std::string extents_text(std::int64_t time_steps, std::int64_t batch_size,
                                std::int64_t features) {
    return "[T, N, F] = [" + std::to_string(time_steps) + ", " + std::to_string(batch_size) + ", " +
           std::to_string(features) + "]";
}

}  // namespace detail

/// Throws snn::invalid_argument unless T, N and F are positive and T*N*F elements of
/// `element_size` bytes are addressable (so no offset computation can overflow). With
/// `argument == nullptr` each extent is blamed under its own name ("time_steps", "batch_size",
/// "features"); otherwise `argument` (say "src") is blamed and the reason names the extent.
inline void check_extents(std::int64_t time_steps, std::int64_t batch_size, std::int64_t features,
                          std::size_t element_size, const char* argument = nullptr) {
    const auto check_positive = [argument](std::int64_t value, const char* name) {
        const std::string reason = "must be positive (got " + std::to_string(value) + ")";
        if (argument == nullptr) {
            require(value > 0, name, reason);
        } else {
            require(value > 0, argument, std::string(name) + " " + reason);
        }
    };
    check_positive(time_steps, "time_steps");
    check_positive(batch_size, "batch_size");
    check_positive(features, "features");

    // Both the element count and the byte count must fit in ptrdiff_t.
    const std::int64_t max_bytes =
        static_cast<std::int64_t>(std::numeric_limits<std::ptrdiff_t>::max());
    const std::int64_t max_elements = max_bytes / static_cast<std::int64_t>(element_size);
    const bool fits = time_steps <= max_elements / batch_size &&
                      time_steps * batch_size <= max_elements / features;
    require(fits, argument == nullptr ? "features" : argument,
            "sequence " + detail::extents_text(time_steps, batch_size, features) +
                " is too large to address");
}

/// SpikingJelly's (and snn's native) [T, N, F]: one contiguous [N, F] frame per time step.
struct time_major {
    static constexpr storage_order order = storage_order::time_batch_feature;

    class mapping : public detail::sequence_extents {
    public:
        using detail::sequence_extents::sequence_extents;

        SNN_HOST_DEVICE constexpr std::int64_t operator()(std::int64_t t, std::int64_t n,
                                                          std::int64_t f) const {
            return (t * batch_size_ + n) * features_ + f;
        }

        SNN_HOST_DEVICE constexpr std::int64_t stride(axis which) const {
            return which == axis::time    ? batch_size_ * features_
                   : which == axis::batch ? features_
                                          : 1;
        }
    };
};

/// Lynxi / BIDL [T * N, F]: time folded into the batch, row t * N + n. Same bytes as
/// time_major, so folding and unfolding are free (see `fold_time` / `unfold_time`); the
/// mapping also addresses elements by (row, f) as the folding framework sees them.
struct time_folded {
    static constexpr storage_order order = storage_order::time_batch_feature;

    class mapping : public detail::sequence_extents {
    public:
        using detail::sequence_extents::sequence_extents;

        /// Leading extent of the folded [T * N, F] matrix.
        SNN_HOST_DEVICE constexpr std::int64_t rows() const { return time_steps_ * batch_size_; }

        SNN_HOST_DEVICE constexpr std::int64_t operator()(std::int64_t t, std::int64_t n,
                                                          std::int64_t f) const {
            return (t * batch_size_ + n) * features_ + f;
        }

        SNN_HOST_DEVICE constexpr std::int64_t operator()(std::int64_t row, std::int64_t f) const {
            return row * features_ + f;
        }

        SNN_HOST_DEVICE constexpr std::int64_t stride(axis which) const {
            return which == axis::time    ? batch_size_ * features_
                   : which == axis::batch ? features_
                                          : 1;
        }
    };
};

/// Lava-DL [N, F, T]: each (neuron, feature) owns a contiguous spike train over time.
struct time_minor {
    static constexpr storage_order order = storage_order::batch_feature_time;

    class mapping : public detail::sequence_extents {
    public:
        using detail::sequence_extents::sequence_extents;

        SNN_HOST_DEVICE constexpr std::int64_t operator()(std::int64_t t, std::int64_t n,
                                                          std::int64_t f) const {
            return (n * features_ + f) * time_steps_ + t;
        }

        SNN_HOST_DEVICE constexpr std::int64_t stride(axis which) const {
            return which == axis::time    ? 1
                   : which == axis::batch ? features_ * time_steps_
                                          : time_steps_;
        }
    };
};

/// BIDL batch-first [N, T, F]: each sample owns a contiguous [T, F] sequence.
struct batch_major {
    static constexpr storage_order order = storage_order::batch_time_feature;

    class mapping : public detail::sequence_extents {
    public:
        using detail::sequence_extents::sequence_extents;

        SNN_HOST_DEVICE constexpr std::int64_t operator()(std::int64_t t, std::int64_t n,
                                                          std::int64_t f) const {
            return (n * time_steps_ + t) * features_ + f;
        }

        SNN_HOST_DEVICE constexpr std::int64_t stride(axis which) const {
            return which == axis::time    ? features_
                   : which == axis::batch ? time_steps_ * features_
                                          : 1;
        }
    };
};

}  // namespace snn::layout
