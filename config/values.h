#pragma once
// Parsers for the scalar notations of the configuration file: addresses,
// lcore lists, rates, durations, device strings, UIDs, fingerprints. Pure
// functions of a string, so each notation is tested on its own; the loader
// adds the file position and key path to the message.

#include "config/node_config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skycast::config {

// A value, or why the text is not one ("'10.0.0.256' is not an IPv4 address").
template <class T>
struct parsed {
    std::optional<T> value;
    std::string error;

    static parsed fail(std::string why) { return parsed{std::nullopt, std::move(why)}; }
    explicit operator bool() const { return value.has_value(); }
    const T& operator*() const { return *value; }
    const T* operator->() const { return &*value; }
};

// The highest lcore id + 1 the EAL accepts: RTE_MAX_LCORE of Debian 12's DPDK
// 22.11 build. config/ does not include DPDK; the dataplane can assert that
// the two agree.
inline constexpr unsigned max_lcores = 128;
// CPU ids in a --lcores CPU set (CPU_SETSIZE).
inline constexpr unsigned max_cpus = 1024;

// Dotted quad, four decimal parts 0..255 without leading zeros (inet_aton
// would read "010" as octal; a config file should not mean two things).
parsed<ipv4_address> parse_ipv4(std::string_view text);
// "10.77.0.1/24", prefix 1..32.
parsed<ipv4_interface> parse_ipv4_interface(std::string_view text);
std::string format_ipv4(ipv4_address a);
inline bool is_multicast(ipv4_address a) {
    return (a >> 28) == 0xE;
}

// "02:00:00:00:00:01" (hex, ':' or '-' separated).
parsed<mac_address> parse_mac(std::string_view text);

// A DPDK lcore list, either the -l form ("0-3,5") or the --lcores form with
// groups and CPU sets ("(0-1)@0,2@(0,1)"): returns the lcore ids named (not
// the CPUs), ascending. An id named twice is an error, as it is to the EAL.
parsed<std::vector<unsigned>> parse_lcore_list(std::string_view text);

// Bits per second: a decimal number with an optional K, M, G or T suffix
// (powers of 1000, as link rates are quoted): "900M", "1.5G", "250000".
parsed<std::uint64_t> parse_rate(std::string_view text);

// Seconds: a decimal number with an optional unit us, ms, s or min; a bare
// number is seconds. "500ms", "1.5s", "0.01".
parsed<double> parse_duration(std::string_view text);

// An ethdev/cryptodev device string: a PCI address ("0000:03:00.0" or
// "03:00.0", hex) or a virtual device ("net_af_packet0,iface=hub0,..."): a
// driver name of lower-case letters, digits and '_' followed by ",key=value"
// arguments.
parsed<device_kind> parse_device(std::string_view text);

// A node id: "0x0A4D0001" (hex), decimal, or an IPv4 address ("10.77.0.11",
// as stock uftp -H accepts). Zero is refused (it means "everyone" in ABORT).
parsed<std::uint32_t> parse_uid(std::string_view text);
std::string format_uid(std::uint32_t uid);

// 20 hex bytes separated by ':' as `skycast keys fingerprint` prints them.
parsed<key_fingerprint> parse_fingerprint(std::string_view text);

} // namespace skycast::config
