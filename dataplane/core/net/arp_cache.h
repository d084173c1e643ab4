#pragma once
// The ARP cache of one port: IPv4 next hop → MAC, in caller-provided storage
// (the lcore context owns the array; nothing is allocated), with expiry,
// rate-limited re-requests for pending resolutions, and a bounded number of
// requests before an address is declared unreachable.
//
// Time is `now` in nanoseconds, passed in by the caller (the lcore converts
// its TSC once per loop; tests pass a fake clock). Every function that can
// change state takes it, nothing reads a clock.
//
// Lookups scan the table linearly: a port resolves a handful of unicast next
// hops (the TX path resolves once per destination and keeps the MAC in its
// frame_template, not per packet), so a scan of tens of entries costs less
// than hashing would save, and eviction can pick the best victim in the same
// pass. Single writer: one lcore owns the cache.

#include "dataplane/core/net/ethernet.h"
#include "dataplane/core/net/ipv4_address.h"

#include <cstdint>
#include <optional>
#include <span>

namespace skycast::dataplane::net {

struct arp_cache_config {
    // How long a learned MAC is used before it is resolved again. Longer than
    // Linux's 15–45 s reachable time because nothing here confirms
    // reachability in between, shorter than a switch's 300 s MAC ageing so a
    // moved host is found again before the switch forgets it.
    std::uint64_t entry_lifetime_ns = 60'000'000'000;
    // At most one request per address per interval (RFC 1122 §2.3.2.1 asks
    // for no more than one per second).
    std::uint64_t retry_interval_ns = 1'000'000'000;
    // Requests sent for one resolution before giving up (Linux's
    // mcast_solicit default).
    std::uint32_t max_requests = 3;
    // How long "unreachable" is the answer before a new resolution may start,
    // so a dead next hop costs one request burst per period, not per packet.
    std::uint64_t unreachable_hold_ns = 10'000'000'000;
};

enum class arp_state : std::uint8_t {
    free,        // slot unused
    pending,     // request(s) sent, no reply yet
    resolved,    // MAC known (until it expires)
    unreachable, // max_requests sent without a reply
};

struct arp_entry {
    ipv4_address ip;
    mac_address mac;
    arp_state state = arp_state::free;
    std::uint8_t requests = 0; // requests sent for the current resolution
    // resolved: when learned or refreshed; pending: when the last request
    // was sent; unreachable: when it was declared so.
    std::uint64_t stamp_ns = 0;
    std::uint64_t last_used_ns = 0; // for least-recently-used eviction
};

struct arp_cache_counters {
    std::uint64_t hits = 0;        // resolve() answered from a valid entry
    std::uint64_t misses = 0;      // resolve() for an address not in the cache
    std::uint64_t expiries = 0;    // entries found past their lifetime
    std::uint64_t evictions = 0;   // live entries (resolved or pending) replaced for lack of room
    std::uint64_t requests = 0;    // requests asked of the caller (first and retries)
    std::uint64_t unreachable = 0; // resolutions given up after max_requests
    std::uint64_t gleaned = 0;     // entries learned or confirmed by glean()
};

struct arp_resolution {
    arp_state state = arp_state::free; // pending, resolved or unreachable
    mac_address mac;                   // valid when resolved
    // The caller must send a request for the address now (write_arp_request).
    bool send_request = false;
};

class arp_cache {
public:
    // `storage` is the cache's capacity; its entries are reset to free.
    arp_cache(std::span<arp_entry> storage, const arp_cache_config& config);

    // The TX path's question: where do I send to `ip`? Answers from a valid
    // entry, or starts or continues a resolution, telling the caller when a
    // request is due (at most once per retry interval, max_requests times,
    // then unreachable for unreachable_hold_ns).
    arp_resolution resolve(ipv4_address ip, std::uint64_t now_ns);

    // The MAC for `ip` if resolved and not expired; changes nothing.
    std::optional<mac_address> lookup(ipv4_address ip, std::uint64_t now_ns) const;

    // Whether a resolution of `ip` is under way (requests sent, no reply,
    // not yet given up); changes nothing.
    bool pending(ipv4_address ip) const;

    // Records `ip` at `mac` (a reply to our request, or a request addressed
    // to us, whose sender will want our reply answered), creating the entry,
    // evicting if full.
    void insert(ipv4_address ip, const mac_address& mac, std::uint64_t now_ns);

    // Updates an existing entry only (any ARP seen from a host we already
    // talk to, gratuitous ones included), without taking a slot for hosts we
    // never asked about. Returns whether there was one.
    bool refresh(ipv4_address ip, const mac_address& mac, std::uint64_t now_ns);

    // What a UFTP datagram from an on-link `ip`, framed from `mac`, says of
    // its neighbour (the RX lcore's gleaning, dataplane/app/rx_lcore.cc): a
    // new, pending or unreachable entry becomes resolved at `mac`, so a
    // receiver can answer a hub it has just heard from without first
    // spending a round trip on ARP (half a second over a GEO satellite); a
    // resolved entry at the same MAC is confirmed (its lifetime starts
    // again). A resolved entry at another MAC is left to ARP, and a full
    // cache evicts nothing for it: a frame proves less than an ARP reply.
    enum class glean_result : std::uint8_t { learned, confirmed, ignored };
    glean_result glean(ipv4_address ip, const mac_address& mac, std::uint64_t now_ns);

    // Pending resolutions whose retry is due at `now_ns`, for a loop that
    // retries without waiting for the next resolve(): writes up to
    // out.size() addresses to request now, and declares unreachable those
    // that have had max_requests. Returns how many were written.
    std::size_t due_requests(std::uint64_t now_ns, std::span<ipv4_address> out);

    const arp_cache_counters& counters() const { return _counters; }
    std::size_t capacity() const { return _entries.size(); }
    // Entries not free (pending, resolved or unreachable).
    std::size_t size() const;

private:
    arp_entry* find(ipv4_address ip);
    const arp_entry* find(ipv4_address ip) const;
    // A free slot, else a dead one (unreachable, expired), else with
    // `evict_live` the least recently used; null if none may be taken.
    arp_entry* take_slot(std::uint64_t now_ns, bool evict_live = true);
    bool expired(const arp_entry& e, std::uint64_t now_ns) const;
    // `e` now holds `mac`, learned at `now_ns`, with no request outstanding.
    static void set_resolved(arp_entry& e, const mac_address& mac, std::uint64_t now_ns);
    // Sends a request if due; moves to unreachable after max_requests.
    arp_resolution advance_pending(arp_entry& e, std::uint64_t now_ns);

    std::span<arp_entry> _entries;
    arp_cache_config _config;
    arp_cache_counters _counters;
};

} // namespace skycast::dataplane::net
