#pragma once
// A value or a crypto_error. Unlike protocol::result it does not need a
// default-constructible T (key objects and cipher contexts are move-only and
// have no empty state worth exposing). Allocation-free, so usable on lcores.

#include "crypto/errors.h"

#include <cassert>
#include <optional>
#include <utility>

namespace skycast::crypto {

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : _value(std::move(value)) {}
    result(crypto_error error) : _error(error) { assert(error != crypto_error::ok); }

    bool ok() const { return _error == crypto_error::ok; }
    explicit operator bool() const { return ok(); }
    crypto_error error() const { return _error; }

    const T& value() const& {
        assert(ok());
        return *_value;
    }
    T& value() & {
        assert(ok());
        return *_value;
    }
    T&& value() && {
        assert(ok());
        return std::move(*_value);
    }
    const T& operator*() const& { return value(); }
    T& operator*() & { return value(); }
    const T* operator->() const { return &value(); }
    T* operator->() { return &value(); }

private:
    std::optional<T> _value;
    crypto_error _error = crypto_error::ok;
};

} // namespace skycast::crypto
