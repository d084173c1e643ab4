#include "config/values.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace skycast::config {
namespace {

std::string in_quotes(std::string_view text) {
    return "'" + std::string(text) + "'";
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_lower_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || c == '_';
}

// Exactly the whole of `text` as an unsigned decimal (no sign, no spaces).
template <class T>
std::optional<T> whole_unsigned(std::string_view text, int base = 10) {
    if (text.empty()) {
        return std::nullopt;
    }
    T v{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

// A plain decimal number, "12", "1.5", ".5" is refused (write 0.5).
std::optional<double> whole_decimal(std::string_view text) {
    if (text.empty() || !is_digit(text.front()) || !is_digit(text.back())) {
        return std::nullopt;
    }
    if (std::count(text.begin(), text.end(), '.') > 1 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; })) {
        return std::nullopt;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto pos = text.find(sep, start);
        parts.push_back(text.substr(start, pos - start));
        if (pos == std::string_view::npos) {
            return parts;
        }
        start = pos + 1;
    }
}

// One element of a --lcores set: "3", "0-3", or a group "(0-1,4)". Appends
// the ids to `out`; `limit` is the first id not allowed.
std::string parse_id_set(std::string_view text, unsigned limit, const char* what,
                         std::vector<unsigned>& out) {
    if (text.size() >= 2 && text.front() == '(' && text.back() == ')') {
        text = text.substr(1, text.size() - 2);
    } else if (text.find_first_of("()") != std::string_view::npos) {
        return "unbalanced parentheses";
    }
    for (auto item : split(text, ',')) {
        const auto dash = item.find('-');
        const auto first = whole_unsigned<unsigned>(item.substr(0, dash));
        const auto last = dash == std::string_view::npos
                              ? first
                              : whole_unsigned<unsigned>(item.substr(dash + 1));
        if (!first || !last) {
            return in_quotes(item) + " is not a " + what + " id or range";
        }
        if (*last < *first) {
            return "range " + in_quotes(item) + " runs backwards";
        }
        if (*last >= limit) {
            return std::string(what) + " " + std::to_string(*last) + " is above the maximum " +
                   std::to_string(limit - 1);
        }
        for (unsigned id = *first; id <= *last; ++id) {
            out.push_back(id);
        }
    }
    return {};
}

} // namespace

parsed<ipv4_address> parse_ipv4(std::string_view text) {
    const auto parts = split(text, '.');
    if (parts.size() != 4) {
        return parsed<ipv4_address>::fail(in_quotes(text) + " is not an IPv4 address (a.b.c.d)");
    }
    ipv4_address a = 0;
    for (auto part : parts) {
        const auto v = whole_unsigned<unsigned>(part);
        if (!v || *v > 255 || (part.size() > 1 && part.front() == '0')) {
            return parsed<ipv4_address>::fail(in_quotes(text) +
                                              " is not an IPv4 address (a.b.c.d, each 0..255)");
        }
        a = (a << 8) | *v;
    }
    return {a, {}};
}

parsed<ipv4_interface> parse_ipv4_interface(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return parsed<ipv4_interface>::fail(in_quotes(text) +
                                            " has no prefix length (write e.g. 10.77.0.1/24)");
    }
    auto addr = parse_ipv4(text.substr(0, slash));
    if (!addr) {
        return parsed<ipv4_interface>::fail(addr.error);
    }
    const auto len = whole_unsigned<unsigned>(text.substr(slash + 1));
    if (!len || *len < 1 || *len > 32) {
        return parsed<ipv4_interface>::fail(in_quotes(text) + " has a bad prefix length (1..32)");
    }
    return {ipv4_interface{.address = *addr, .prefix_length = static_cast<std::uint8_t>(*len)}, {}};
}

std::string format_ipv4(ipv4_address a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xFF) + "." +
           std::to_string((a >> 8) & 0xFF) + "." + std::to_string(a & 0xFF);
}

parsed<mac_address> parse_mac(std::string_view text) {
    const char sep = text.find('-') != std::string_view::npos ? '-' : ':';
    const auto parts = split(text, sep);
    mac_address mac{};
    bool ok = parts.size() == mac.size();
    for (std::size_t i = 0; ok && i < parts.size(); ++i) {
        const auto v = parts[i].size() == 2 ? whole_unsigned<unsigned>(parts[i], 16) : std::nullopt;
        ok = v.has_value();
        if (ok) {
            mac[i] = static_cast<std::uint8_t>(*v);
        }
    }
    if (!ok) {
        return parsed<mac_address>::fail(
            in_quotes(text) + " is not a MAC address (six hex bytes, 02:00:00:00:00:01)");
    }
    return {mac, {}};
}

parsed<std::vector<unsigned>> parse_lcore_list(std::string_view text) {
    using result = parsed<std::vector<unsigned>>;
    if (text.empty()) {
        return result::fail("the lcore list is empty");
    }
    // Split on the commas outside parentheses.
    std::vector<std::string_view> elements;
    int depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '(') {
            ++depth;
        } else if (text[i] == ')') {
            --depth;
        } else if (text[i] == ',' && depth == 0) {
            elements.push_back(text.substr(start, i - start));
            start = i + 1;
        }
        if (depth < 0 || depth > 1) {
            return result::fail(in_quotes(text) + ": unbalanced or nested parentheses");
        }
    }
    if (depth != 0) {
        return result::fail(in_quotes(text) + ": unbalanced parentheses");
    }
    elements.push_back(text.substr(start));

    std::vector<unsigned> ids;
    for (auto element : elements) {
        const auto at = element.find('@');
        std::string why = parse_id_set(element.substr(0, at), max_lcores, "lcore", ids);
        if (why.empty() && at != std::string_view::npos) {
            std::vector<unsigned> cpus;
            why = parse_id_set(element.substr(at + 1), max_cpus, "cpu", cpus);
        }
        if (!why.empty()) {
            return result::fail(in_quotes(text) + " is not a DPDK lcore list: " + why);
        }
    }
    std::sort(ids.begin(), ids.end());
    if (auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
        return result::fail(in_quotes(text) + " names lcore " + std::to_string(*dup) + " twice");
    }
    return {std::move(ids), {}};
}

parsed<std::uint64_t> parse_rate(std::string_view text) {
    static constexpr std::pair<char, double> suffixes[] = {
        {'K', 1e3}, {'k', 1e3}, {'M', 1e6}, {'G', 1e9}, {'T', 1e12}};
    double scale = 1;
    std::string_view number = text;
    for (auto [c, s] : suffixes) {
        if (!text.empty() && text.back() == c) {
            scale = s;
            number = text.substr(0, text.size() - 1);
        }
    }
    const auto v = whole_decimal(number);
    if (!v) {
        return parsed<std::uint64_t>::fail(
            in_quotes(text) + " is not a rate (bits per second, optional K/M/G/T suffix: 900M)");
    }
    const double bps = *v * scale;
    if (bps >= 1.8e19 || bps != std::floor(bps)) {
        return parsed<std::uint64_t>::fail(in_quotes(text) + " is not a whole number of bits/s");
    }
    return {static_cast<std::uint64_t>(bps), {}};
}

parsed<double> parse_duration(std::string_view text) {
    static constexpr std::pair<std::string_view, double> units[] = {
        {"us", 1e-6}, {"ms", 1e-3}, {"min", 60.0}, {"s", 1.0}};
    double scale = 1;
    std::string_view number = text;
    for (auto [unit, s] : units) {
        if (text.size() > unit.size() && text.ends_with(unit)) {
            scale = s;
            number = text.substr(0, text.size() - unit.size());
            break;
        }
    }
    const auto v = whole_decimal(number);
    if (!v) {
        return parsed<double>::fail(in_quotes(text) +
                                    " is not a duration (seconds, or a number with us/ms/s/min)");
    }
    return {*v * scale, {}};
}

parsed<device_kind> parse_device(std::string_view text) {
    // PCI: [domain:]bus:device.function, as the EAL's -a takes it.
    const auto parts = split(text, ':');
    if (parts.size() == 2 || parts.size() == 3) {
        const auto dot = parts.back().find('.');
        const bool domain_ok =
            parts.size() == 2 ||
            (parts[0].size() == 4 && std::all_of(parts[0].begin(), parts[0].end(), is_hex_digit));
        const auto bus = parts[parts.size() - 2];
        const auto dev = parts.back().substr(0, dot);
        const auto fn =
            dot == std::string_view::npos ? std::string_view{} : parts.back().substr(dot + 1);
        const auto dev_v = dev.size() == 2 ? whole_unsigned<unsigned>(dev, 16) : std::nullopt;
        if (domain_ok && bus.size() == 2 && std::all_of(bus.begin(), bus.end(), is_hex_digit) &&
            dev_v && *dev_v < 32 && fn.size() == 1 && fn[0] >= '0' && fn[0] <= '7') {
            return {device_kind::pci, {}};
        }
        if (text.find(',') == std::string_view::npos) {
            return parsed<device_kind>::fail(
                in_quotes(text) + " is not a PCI address (DDDD:BB:DD.F, e.g. 0000:03:00.0)");
        }
    }
    // vdev: driver name, then ",key=value" arguments.
    const auto args = split(text, ',');
    const auto name = args[0];
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_lower_alnum) ||
        !(name[0] >= 'a' && name[0] <= 'z')) {
        return parsed<device_kind>::fail(
            in_quotes(text) + " is neither a PCI address (0000:03:00.0) nor a virtual device "
                              "(driver name of a-z, 0-9, '_', then ,key=value arguments)");
    }
    for (std::size_t i = 1; i < args.size(); ++i) {
        const auto eq = args[i].find('=');
        if (eq == 0 || eq == std::string_view::npos || eq + 1 == args[i].size()) {
            return parsed<device_kind>::fail("virtual device argument " + in_quotes(args[i]) +
                                             " is not key=value");
        }
    }
    return {device_kind::vdev, {}};
}

parsed<std::uint32_t> parse_uid(std::string_view text) {
    std::optional<std::uint32_t> v;
    if (text.size() > 2 && (text.starts_with("0x") || text.starts_with("0X"))) {
        if (text.size() <= 10) {
            v = whole_unsigned<std::uint32_t>(text.substr(2), 16);
        }
    } else if (text.find('.') != std::string_view::npos) {
        if (auto a = parse_ipv4(text)) {
            v = *a;
        }
    } else {
        v = whole_unsigned<std::uint32_t>(text);
    }
    if (!v) {
        return parsed<std::uint32_t>::fail(
            in_quotes(text) + " is not a UID (0x0A4D0001, a 32-bit decimal, or an IPv4 address)");
    }
    if (*v == 0) {
        return parsed<std::uint32_t>::fail("UID 0 is reserved (it means 'everyone' in ABORT)");
    }
    return {*v, {}};
}

std::string format_uid(std::uint32_t uid) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", uid);
    return buf;
}

parsed<key_fingerprint> parse_fingerprint(std::string_view text) {
    const auto parts = split(text, ':');
    key_fingerprint fp{};
    bool ok = parts.size() == fp.size();
    for (std::size_t i = 0; ok && i < parts.size(); ++i) {
        const auto v = parts[i].size() == 2 ? whole_unsigned<unsigned>(parts[i], 16) : std::nullopt;
        ok = v.has_value();
        if (ok) {
            fp[i] = static_cast<std::uint8_t>(*v);
        }
    }
    if (!ok) {
        return parsed<key_fingerprint>::fail(
            in_quotes(text) + " is not a key fingerprint (20 hex bytes separated by ':', as "
                              "`skycast keys fingerprint` prints)");
    }
    return {fp, {}};
}

} // namespace skycast::config
