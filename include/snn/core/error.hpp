#pragma once
/// \file
/// The one exception type snn throws for bad input: it names the offending argument.

#include <stdexcept>
#include <string>

namespace snn {

/// Thrown when an argument is invalid (shape, null pointer, out-of-range parameter, malformed
/// file...). `argument()` names the argument; `what()` reads "snn: <argument>: <reason>".
class invalid_argument : public std::invalid_argument {
public:
    invalid_argument(std::string argument, const std::string& reason)
        : std::invalid_argument("snn: " + argument + ": " + reason), argument_(std::move(argument)) {}

    const std::string& argument() const noexcept { return argument_; }

private:
    std::string argument_;
};

/// Thrown when a file or stream cannot be read or written (I/O failure, not bad content).
class io_error : public std::runtime_error {
public:
    explicit io_error(const std::string& what) : std::runtime_error("snn: " + what) {}
};

/// Throws `invalid_argument(argument, reason)` unless `condition` holds.
inline void require(bool condition, const char* argument, const std::string& reason) {
    if (!condition) throw invalid_argument(argument, reason);
}

}  // namespace snn
