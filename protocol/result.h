#pragma once
// A value or a wire_error: the return type of every encoder and of decoders
// that produce a value. Small and allocation-free, so it is fine on lcores.

#include "protocol/wire_error.h"

#include <cassert>
#include <utility>

namespace skycast::protocol {

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : _value(std::move(value)) {}
    result(wire_error error) : _error(error) { assert(error != wire_error::ok); }

    bool ok() const { return _error == wire_error::ok; }
    explicit operator bool() const { return ok(); }
    wire_error error() const { return _error; }

    const T& value() const& {
        assert(ok());
        return _value;
    }
    T& value() & {
        assert(ok());
        return _value;
    }
    const T& operator*() const& { return value(); }
    const T* operator->() const { return &value(); }

private:
    T _value{};
    wire_error _error = wire_error::ok;
};

} // namespace skycast::protocol
