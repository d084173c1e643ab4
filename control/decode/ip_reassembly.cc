#include "control/decode/ip_reassembly.h"

#include <algorithm>
#include <cstring>

namespace skycast::decode {
namespace {
constexpr std::uint32_t max_payload = 65535;
} // namespace

ip_reassembler::outcome ip_reassembler::add(const fragment& f, std::vector<std::uint8_t>& payload,
                                            std::string& problem) {
    auto it = std::find_if(_pending.begin(), _pending.end(),
                           [&](const auto& d) { return d.key == f.key; });
    if (it == _pending.end()) {
        if (_pending.size() >= _max_pending) {
            _pending.pop_front();
            ++_evicted;
        }
        _pending.push_back({.key = f.key});
        it = std::prev(_pending.end());
    }
    auto& d = *it;
    const std::uint64_t end = std::uint64_t{f.offset} + f.data.size();
    if (end > max_payload) {
        problem = "IP fragments add up to more than 65535 bytes";
        _pending.erase(it);
        return outcome::invalid;
    }
    for (const auto& r : d.have) {
        if (f.offset < r.end && end > r.begin) {
            problem = "overlapping IP fragments";
            _pending.erase(it);
            return outcome::invalid;
        }
    }
    if (!f.more) {
        if (d.total_known) {
            problem = "two last IP fragments";
            _pending.erase(it);
            return outcome::invalid;
        }
        d.total = static_cast<std::uint32_t>(end);
        d.total_known = true;
    }
    if (d.total_known && (end > d.total || std::any_of(d.have.begin(), d.have.end(),
                                                       [&](auto r) { return r.end > d.total; }))) {
        problem = "IP fragment beyond the last fragment's end";
        _pending.erase(it);
        return outcome::invalid;
    }
    if (d.bytes.size() < end) {
        d.bytes.resize(end);
    }
    if (!f.data.empty()) {
        std::memcpy(d.bytes.data() + f.offset, f.data.data(), f.data.size());
    }
    d.have.push_back({f.offset, static_cast<std::uint32_t>(end)});

    if (!d.total_known) {
        return outcome::incomplete;
    }
    std::uint64_t covered = 0;
    for (const auto& r : d.have) {
        covered += r.end - r.begin; // ranges never overlap (checked above)
    }
    if (covered != d.total) {
        return outcome::incomplete;
    }
    payload = std::move(d.bytes);
    payload.resize(d.total);
    _pending.erase(it);
    return outcome::complete;
}

} // namespace skycast::decode
