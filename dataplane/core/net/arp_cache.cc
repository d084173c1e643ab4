#include "dataplane/core/net/arp_cache.h"

namespace skycast::dataplane::net {

arp_cache::arp_cache(std::span<arp_entry> storage, const arp_cache_config& config)
    : _entries(storage), _config(config) {
    for (auto& e : _entries) {
        e = arp_entry{};
    }
}

arp_entry* arp_cache::find(ipv4_address ip) {
    for (auto& e : _entries) {
        if (e.state != arp_state::free && e.ip == ip) {
            return &e;
        }
    }
    return nullptr;
}

const arp_entry* arp_cache::find(ipv4_address ip) const {
    for (const auto& e : _entries) {
        if (e.state != arp_state::free && e.ip == ip) {
            return &e;
        }
    }
    return nullptr;
}

bool arp_cache::expired(const arp_entry& e, std::uint64_t now_ns) const {
    return now_ns - e.stamp_ns >= _config.entry_lifetime_ns;
}

std::size_t arp_cache::size() const {
    std::size_t n = 0;
    for (const auto& e : _entries) {
        n += e.state != arp_state::free ? 1 : 0;
    }
    return n;
}

arp_entry* arp_cache::take_slot(std::uint64_t now_ns, bool evict_live) {
    // Best victim first: a free slot; an unreachable or expired entry (no
    // knowledge lost); else the least recently used live entry.
    arp_entry* lru = nullptr;
    arp_entry* dead = nullptr;
    for (auto& e : _entries) {
        if (e.state == arp_state::free) {
            return &e;
        }
        const bool is_dead = e.state == arp_state::unreachable ||
                             (e.state == arp_state::resolved && expired(e, now_ns));
        if (is_dead && dead == nullptr) {
            dead = &e;
        }
        if (lru == nullptr || e.last_used_ns < lru->last_used_ns) {
            lru = &e;
        }
    }
    if (dead != nullptr) {
        if (dead->state == arp_state::resolved) {
            ++_counters.expiries;
        }
        return dead;
    }
    if (!evict_live) {
        return nullptr;
    }
    if (lru != nullptr) {
        ++_counters.evictions;
    }
    return lru;
}

arp_resolution arp_cache::advance_pending(arp_entry& e, std::uint64_t now_ns) {
    const bool due = e.requests == 0 || now_ns - e.stamp_ns >= _config.retry_interval_ns;
    if (!due) {
        return {.state = arp_state::pending};
    }
    if (e.requests >= _config.max_requests) {
        e.state = arp_state::unreachable;
        e.stamp_ns = now_ns;
        ++_counters.unreachable;
        return {.state = arp_state::unreachable};
    }
    ++e.requests;
    e.stamp_ns = now_ns;
    ++_counters.requests;
    return {.state = arp_state::pending, .send_request = true};
}

arp_resolution arp_cache::resolve(ipv4_address ip, std::uint64_t now_ns) {
    arp_entry* e = find(ip);
    if (e == nullptr) {
        ++_counters.misses;
        e = take_slot(now_ns);
        if (e == nullptr) {
            // No storage at all: nothing can ever be resolved.
            return {.state = arp_state::unreachable};
        }
        *e = arp_entry{.ip = ip, .state = arp_state::pending};
    }
    e->last_used_ns = now_ns;
    switch (e->state) {
    case arp_state::resolved:
        if (!expired(*e, now_ns)) {
            ++_counters.hits;
            return {.state = arp_state::resolved, .mac = e->mac};
        }
        // Resolve again rather than keep using a MAC nobody has confirmed.
        ++_counters.expiries;
        e->state = arp_state::pending;
        e->requests = 0;
        break;
    case arp_state::unreachable:
        if (now_ns - e->stamp_ns < _config.unreachable_hold_ns) {
            return {.state = arp_state::unreachable};
        }
        e->state = arp_state::pending;
        e->requests = 0;
        break;
    case arp_state::pending:
    case arp_state::free:
        break;
    }
    return advance_pending(*e, now_ns);
}

std::optional<mac_address> arp_cache::lookup(ipv4_address ip, std::uint64_t now_ns) const {
    const arp_entry* e = find(ip);
    if (e == nullptr || e->state != arp_state::resolved || expired(*e, now_ns)) {
        return std::nullopt;
    }
    return e->mac;
}

bool arp_cache::pending(ipv4_address ip) const {
    const arp_entry* e = find(ip);
    return e != nullptr && e->state == arp_state::pending;
}

void arp_cache::insert(ipv4_address ip, const mac_address& mac, std::uint64_t now_ns) {
    arp_entry* e = find(ip);
    if (e == nullptr) {
        e = take_slot(now_ns);
        if (e == nullptr) {
            return;
        }
        *e = arp_entry{.ip = ip, .last_used_ns = now_ns};
    }
    set_resolved(*e, mac, now_ns);
}

void arp_cache::set_resolved(arp_entry& e, const mac_address& mac, std::uint64_t now_ns) {
    e.mac = mac;
    e.state = arp_state::resolved;
    e.requests = 0;
    e.stamp_ns = now_ns;
}

bool arp_cache::refresh(ipv4_address ip, const mac_address& mac, std::uint64_t now_ns) {
    arp_entry* e = find(ip);
    if (e == nullptr) {
        return false;
    }
    set_resolved(*e, mac, now_ns);
    return true;
}

arp_cache::glean_result arp_cache::glean(ipv4_address ip, const mac_address& mac,
                                         std::uint64_t now_ns) {
    arp_entry* e = find(ip);
    if (e == nullptr) {
        e = take_slot(now_ns, false);
        if (e == nullptr) {
            return glean_result::ignored;
        }
        // Never used yet: the first to go when a resolution needs the slot.
        *e = arp_entry{.ip = ip, .last_used_ns = 0};
    }
    const bool alive = e->state == arp_state::resolved && !expired(*e, now_ns);
    if (alive && e->mac != mac) {
        return glean_result::ignored;
    }
    set_resolved(*e, mac, now_ns); // new, pending, unreachable or expired: resolved now
    ++_counters.gleaned;
    return alive ? glean_result::confirmed : glean_result::learned;
}

std::size_t arp_cache::due_requests(std::uint64_t now_ns, std::span<ipv4_address> out) {
    std::size_t n = 0;
    for (auto& e : _entries) {
        if (n == out.size()) {
            break;
        }
        if (e.state != arp_state::pending) {
            continue;
        }
        if (advance_pending(e, now_ns).send_request) {
            out[n++] = e.ip;
        }
    }
    return n;
}

} // namespace skycast::dataplane::net
