// The one validating pass from YAML to node_config. Structure: a context
// collects issues; a map_reader checks a mapping's keys (type, duplicates,
// unknown keys) when it is built and hands out the values; small typed
// readers turn a value into an int/bool/enum/string or report why not.
// Cross-field rules are checked where both fields are at hand, with the
// position of the field that has to change. Nothing stops at the first
// problem: a value that fails keeps its default so later checks still run,
// and checks that depend on a failed value are skipped rather than reported
// twice.
#include "config/loader.h"

#include "config/values.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace skycast::config {

std::string config_issue::to_string() const {
    std::string out = file;
    if (line != 0) {
        out += ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    out += ": ";
    if (!path.empty()) {
        out += path + ": ";
    }
    return out + message;
}

namespace {

std::string join_issues(const std::vector<config_issue>& issues) {
    std::string out;
    for (const auto& i : issues) {
        out += (out.empty() ? "" : "\n") + i.to_string();
    }
    return out;
}

} // namespace

config_error::config_error(config_errc code, std::vector<config_issue> issues)
    : std::runtime_error(join_issues(issues)), _code(code), _issues(std::move(issues)) {}

namespace {

using YAML::Node;
using YAML::NodeType;

std::string in_quotes(std::string_view s) {
    return "'" + std::string(s) + "'";
}

class context {
public:
    explicit context(std::string file) : _file(std::move(file)) {}

    void error(const YAML::Mark& m, std::string path, std::string message) {
        // yaml-cpp counts from 0 and uses -1 for "no position" (empty document).
        const auto line = m.line < 0 ? 1u : static_cast<std::uint32_t>(m.line) + 1;
        const auto column = m.column < 0 ? 1u : static_cast<std::uint32_t>(m.column) + 1;
        _issues.push_back({_file, line, column, std::move(path), std::move(message)});
    }
    bool clean() const { return _issues.empty(); }
    std::size_t count() const { return _issues.size(); }
    std::vector<config_issue> take() {
        std::stable_sort(_issues.begin(), _issues.end(), [](const auto& a, const auto& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        return std::move(_issues);
    }

private:
    std::string _file;
    std::vector<config_issue> _issues;
};

// A value in the document with its key path and where its key stands (the
// position of a missing or empty value).
struct field {
    Node value;
    YAML::Mark key_mark;
    std::string path;

    // Where to point for a problem with the value: the value itself, or its
    // key when there is no value (yaml-cpp places an empty value on the next
    // line).
    YAML::Mark mark() const { return value.IsNull() ? key_mark : value.Mark(); }
};

std::string describe_type(const Node& n) {
    switch (n.Type()) {
    case NodeType::Null:
        return "nothing";
    case NodeType::Sequence:
        return "a list";
    case NodeType::Map:
        return "a mapping";
    case NodeType::Scalar:
        return "the scalar " + in_quotes(n.Scalar());
    case NodeType::Undefined:
        break;
    }
    return "nothing";
}

// "1", "2", "3" -> "1, 2, 3"
std::string join(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto n : names) {
        out += (out.empty() ? "" : ", ") + std::string(n);
    }
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// A mapping whose keys are checked when the reader is built: every key must
// be a plain scalar, appear once, and be one of `known`. Values are then
// taken by name.
class map_reader {
public:
    map_reader(context& ctx, const field& f, std::initializer_list<std::string_view> known)
        : _ctx(ctx), _self(f) {
        if (!f.value.IsMap()) {
            _ctx.error(f.mark(), f.path,
                       "expected a mapping of " + join(known) + ", got " + describe_type(f.value));
            return;
        }
        _is_map = true;
        // By value: yaml-cpp's iterator hands out a temporary pair, so a
        // reference into `it->first` would dangle.
        for (auto it = f.value.begin(); it != f.value.end(); ++it) {
            const Node key = it->first;
            const Node value = it->second;
            if (!key.IsScalar()) {
                _ctx.error(key.Mark(), f.path,
                           "a key must be a plain name, got " + describe_type(key));
                continue;
            }
            const std::string& name = key.Scalar();
            const std::string path = child(name);
            if (auto prev = _entries.find(name); prev != _entries.end()) {
                _ctx.error(key.Mark(), path,
                           "duplicate key (first given at line " +
                               std::to_string(prev->second.key_mark.line + 1) + ")");
                continue;
            }
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string hint;
                for (auto k : known) {
                    if (edit_distance(k, name) <= 2) {
                        hint = " (did you mean " + in_quotes(k) + "?)";
                        break;
                    }
                }
                if (hint.empty()) {
                    hint = " (expected one of: " + join(known) + ")";
                }
                _ctx.error(key.Mark(), path, "unknown key" + hint);
                continue;
            }
            _entries.emplace(name, field{value, key.Mark(), path});
        }
    }

    bool is_map() const { return _is_map; }
    std::string child(std::string_view name) const {
        return _self.path.empty() ? std::string(name) : _self.path + "." + std::string(name);
    }

    std::optional<field> get(std::string_view key) const {
        auto it = _entries.find(std::string(key));
        if (it == _entries.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    bool has(std::string_view key) const { return _entries.count(std::string(key)) != 0; }

    // Like get(), and reports a missing key as required (unless the mapping
    // itself was already reported as the wrong type).
    std::optional<field> require(std::string_view key, std::string_view why = {}) const {
        auto f = get(key);
        if (!f && _is_map) {
            _ctx.error(_self.key_mark, child(key),
                       "required key is missing" +
                           (why.empty() ? "" : " (" + std::string(why) + ")"));
        }
        return f;
    }

private:
    context& _ctx;
    field _self;
    bool _is_map = false;
    std::map<std::string, field> _entries;
};

// ---- typed readers: each reports and returns nullopt on a bad value ----

std::optional<std::string> read_string(context& ctx, const field& f) {
    if (!f.value.IsScalar()) {
        ctx.error(f.mark(), f.path, "expected a string, got " + describe_type(f.value));
        return std::nullopt;
    }
    return f.value.Scalar();
}

// A non-empty string (paths, names).
std::optional<std::string> read_nonempty(context& ctx, const field& f) {
    auto s = read_string(ctx, f);
    if (s && s->empty()) {
        ctx.error(f.mark(), f.path, "must not be empty");
        return std::nullopt;
    }
    return s;
}

// Numbers and booleans must be plain scalars: a quoted "1500" is a string,
// and accepting it would hide a mistake of type.
bool is_quoted(const Node& n) {
    return n.Tag() == "!";
}

// `range` ("576..9000") words the message for a number beyond 64 bits.
std::optional<std::int64_t> read_int(context& ctx, const field& f, const std::string& range) {
    if (!f.value.IsScalar() || is_quoted(f.value)) {
        ctx.error(f.mark(), f.path,
                  "expected an integer, got " + (f.value.IsScalar()
                                                     ? "the string " + in_quotes(f.value.Scalar()) +
                                                           " (numbers are written without quotes)"
                                                     : describe_type(f.value)));
        return std::nullopt;
    }
    const std::string& s = f.value.Scalar();
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range && end == s.data() + s.size()) {
        ctx.error(f.mark(), f.path, s + " is out of range " + range);
        return std::nullopt;
    }
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
        ctx.error(f.mark(), f.path, "expected an integer, got " + in_quotes(s));
        return std::nullopt;
    }
    return v;
}

template <class T>
std::optional<T> read_int_in(context& ctx, const field& f, std::int64_t lo, std::int64_t hi) {
    const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    auto v = read_int(ctx, f, range);
    if (!v) {
        return std::nullopt;
    }
    if (*v < lo || *v > hi) {
        ctx.error(f.mark(), f.path, std::to_string(*v) + " is out of range " + range);
        return std::nullopt;
    }
    return static_cast<T>(*v);
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%gs", s);
    return buf;
}

// A duration (values.h: seconds, or a number with us/ms/s/min) within
// [lo, hi] seconds; `range` words the bounds in messages ("1ms..1000s").
std::optional<double> read_duration_in(context& ctx, const field& f, double lo, double hi,
                                       std::string_view range) {
    auto d = f.value.IsScalar()
                 ? parse_duration(f.value.Scalar())
                 : parsed<double>::fail("expected a duration, got " + describe_type(f.value));
    if (!d) {
        ctx.error(f.mark(), f.path, d.error);
        return std::nullopt;
    }
    // A unit scales by a power of ten that a double does not hold exactly
    // ("10ms" is 10 * 0.001); a bound written either way must be accepted.
    constexpr double slack = 1e-9;
    if (*d < lo * (1 - slack) || *d > hi * (1 + slack)) {
        ctx.error(f.mark(), f.path,
                  in_quotes(f.value.Scalar()) + " is out of range " + std::string(range));
        return std::nullopt;
    }
    return std::clamp(*d, lo, hi);
}

bool is_power_of_two(std::int64_t v) {
    return v > 0 && (v & (v - 1)) == 0;
}

template <class T>
std::optional<T> read_pow2_in(context& ctx, const field& f, std::int64_t lo, std::int64_t hi) {
    auto v = read_int_in<T>(ctx, f, lo, hi);
    if (v && !is_power_of_two(static_cast<std::int64_t>(*v))) {
        ctx.error(f.mark(), f.path,
                  std::to_string(*v) + " is not a power of two (" + std::to_string(lo) + ", " +
                      std::to_string(lo * 2) + ", ... " + std::to_string(hi) + ")");
        return std::nullopt;
    }
    return v;
}

std::optional<bool> read_bool(context& ctx, const field& f) {
    if (f.value.IsScalar() && !is_quoted(f.value)) {
        if (f.value.Scalar() == "true") {
            return true;
        }
        if (f.value.Scalar() == "false") {
            return false;
        }
    }
    ctx.error(f.mark(), f.path, "expected true or false, got " + describe_type(f.value));
    return std::nullopt;
}

template <class E>
struct enum_name {
    std::string_view name;
    E value;
};

template <class E, std::size_t N>
std::optional<E> read_enum(context& ctx, const field& f, const enum_name<E> (&names)[N]) {
    std::string choices;
    for (const auto& n : names) {
        choices += (choices.empty() ? "" : ", ") + std::string(n.name);
    }
    if (!f.value.IsScalar()) {
        ctx.error(f.mark(), f.path,
                  "expected one of " + choices + ", got " + describe_type(f.value));
        return std::nullopt;
    }
    for (const auto& n : names) {
        if (f.value.Scalar() == n.name) {
            return n.value;
        }
    }
    ctx.error(f.mark(), f.path, in_quotes(f.value.Scalar()) + " is not one of " + choices);
    return std::nullopt;
}

// A parsed<T> notation (values.h) on a string field.
template <class T>
std::optional<T> read_notation(context& ctx, const field& f, parsed<T> (*parse)(std::string_view)) {
    auto s = read_string(ctx, f);
    if (!s) {
        return std::nullopt;
    }
    auto v = parse(*s);
    if (!v) {
        ctx.error(f.mark(), f.path, v.error);
        return std::nullopt;
    }
    return std::move(v.value);
}

std::optional<std::vector<field>> read_list(context& ctx, const field& f) {
    if (!f.value.IsSequence()) {
        ctx.error(f.mark(), f.path, "expected a list, got " + describe_type(f.value));
        return std::nullopt;
    }
    std::vector<field> items;
    for (std::size_t i = 0; i < f.value.size(); ++i) {
        items.push_back(
            field{f.value[i], f.value[i].Mark(), f.path + "[" + std::to_string(i) + "]"});
    }
    return items;
}

std::optional<std::string> read_absolute_path(context& ctx, const field& f) {
    auto s = read_nonempty(ctx, f);
    if (s && s->front() != '/') {
        ctx.error(f.mark(), f.path, in_quotes(*s) + " is not an absolute path");
        return std::nullopt;
    }
    return s;
}

// Assigns `out` when the key is present and valid; returns the field when it
// was assigned (for cross-field checks that point at it).
template <class T, class Reader>
std::optional<field> take(const map_reader& m, std::string_view key, T& out, Reader read) {
    auto f = m.get(key);
    if (!f) {
        return std::nullopt;
    }
    auto v = read(*f);
    if (!v) {
        return std::nullopt;
    }
    out = std::move(*v);
    return f;
}

// ---------------------------------------------------------------------------
// dataplane
// ---------------------------------------------------------------------------

bool valid_file_prefix(const std::string& s) {
    return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

bool contains(const std::vector<unsigned>& ids, unsigned id) {
    return std::binary_search(ids.begin(), ids.end(), id);
}

std::string format_ids(const std::vector<unsigned>& ids) {
    std::string out;
    for (auto id : ids) {
        out += (out.empty() ? "" : ",") + std::to_string(id);
    }
    return out;
}

// EAL options the schema sets itself: giving them again in extra_args would
// contradict (or silently override) the typed setting.
constexpr std::pair<std::string_view, std::string_view> owned_eal_options[] = {
    {"-l", "eal.lcores"},
    {"--lcores", "eal.lcores"},
    {"-c", "eal.lcores"},
    {"--main-lcore", "eal.main_lcore"},
    {"--file-prefix", "eal.file_prefix"},
    {"--no-huge", "eal.hugepages"},
    {"-m", "eal.memory_mb"},
    {"--proc-type", "the process (primary for the dataplane, secondary for control)"},
    {"-a", "ports[].device"},
    {"--allow", "ports[].device"},
    {"--vdev", "ports[].device"},
};

void parse_eal(context& ctx, const field& f, eal_config& eal) {
    map_reader m(ctx, f,
                 {"lcores", "main_lcore", "file_prefix", "hugepages", "memory_mb", "extra_args"});
    bool lcores_ok = false;
    if (auto lf = m.require("lcores")) {
        if (auto s = read_nonempty(ctx, *lf)) {
            eal.lcores = *s;
            if (auto ids = parse_lcore_list(*s)) {
                eal.lcore_ids = *ids;
                eal.main_lcore = ids->front();
                lcores_ok = true;
            } else {
                ctx.error(lf->mark(), lf->path, ids.error);
            }
        }
    }
    if (auto mf = m.get("main_lcore")) {
        if (auto v = read_int_in<unsigned>(ctx, *mf, 0, max_lcores - 1)) {
            if (lcores_ok && !contains(eal.lcore_ids, *v)) {
                ctx.error(mf->mark(), mf->path,
                          "lcore " + std::to_string(*v) + " is not in eal.lcores (" +
                              format_ids(eal.lcore_ids) + ")");
            } else {
                eal.main_lcore = *v;
            }
        }
    }
    if (auto pf = m.require("file_prefix")) {
        if (auto s = read_string(ctx, *pf)) {
            if (valid_file_prefix(*s)) {
                eal.file_prefix = *s;
            } else {
                ctx.error(pf->mark(), pf->path,
                          in_quotes(*s) + " is not a file prefix (1..32 of A-Z a-z 0-9 _ -)");
            }
        }
    }
    take(m, "hugepages", eal.hugepages, [&](const field& x) { return read_bool(ctx, x); });
    take(m, "memory_mb", eal.memory_mb,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 64, 1048576); });
    if (auto ef = m.get("extra_args")) {
        if (auto items = read_list(ctx, *ef)) {
            for (const auto& item : *items) {
                auto s = read_nonempty(ctx, item);
                if (!s) {
                    continue;
                }
                bool owned = false;
                for (auto [option, owner] : owned_eal_options) {
                    if (*s == option || s->starts_with(std::string(option) + "=") ||
                        (option.size() == 2 && s->starts_with(option))) {
                        ctx.error(item.mark(), item.path,
                                  in_quotes(*s) + " is set by " + std::string(owner) +
                                      "; set it there instead");
                        owned = true;
                        break;
                    }
                }
                if (!owned) {
                    eal.extra_args.push_back(*s);
                }
            }
        }
    }
}

bool is_network_driver(std::string_view device) {
    // DPDK's ethdev vdev drivers are net_*; eth_* are their registered aliases.
    return device.starts_with("net_") || device.starts_with("eth_");
}

void parse_port(context& ctx, const field& f, port_config& port) {
    map_reader m(ctx, f,
                 {"device", "mtu", "address", "gateway", "mac", "rx_descriptors", "tx_descriptors",
                  "checksum_offload"});
    if (auto df = m.require("device")) {
        if (auto s = read_nonempty(ctx, *df)) {
            if (auto kind = parse_device(*s); !kind) {
                ctx.error(df->mark(), df->path, kind.error);
            } else if (*kind == device_kind::vdev && !is_network_driver(*s)) {
                ctx.error(df->mark(), df->path,
                          in_quotes(s->substr(0, s->find(','))) +
                              " is not a network device driver (virtual ports are net_*, e.g. "
                              "net_af_packet0,iface=eth0)");
            } else {
                port.device = *s;
                port.kind = *kind;
            }
        }
    }
    take(m, "mtu", port.mtu,
         [&](const field& x) { return read_int_in<std::uint16_t>(ctx, x, 576, 9000); });

    bool address_ok = false;
    if (auto af = m.require("address")) {
        if (auto a = read_notation(ctx, *af, parse_ipv4_interface)) {
            const ipv4_address ip = a->address;
            const ipv4_address host_bits = ip & ~a->netmask();
            std::string why;
            if (is_multicast(ip) || (ip >> 28) == 0xF) {
                why = "is a multicast or reserved address, not an interface address";
            } else if ((ip >> 24) == 0 || (ip >> 24) == 127) {
                why = "is not a usable interface address (0.0.0.0/8 and 127.0.0.0/8 are not)";
            } else if (a->prefix_length <= 30 && host_bits == 0) {
                why = "is the network address of its subnet, not a host in it";
            } else if (a->prefix_length <= 30 && host_bits == ~a->netmask()) {
                why = "is the broadcast address of its subnet, not a host in it";
            }
            if (!why.empty()) {
                ctx.error(af->mark(), af->path, in_quotes(af->value.Scalar()) + " " + why);
            } else {
                port.address = *a;
                address_ok = true;
            }
        }
    }
    if (auto gf = m.get("gateway")) {
        if (auto g = read_notation(ctx, *gf, parse_ipv4); g && address_ok) {
            const auto& a = port.address;
            const std::string subnet =
                format_ipv4(a.network()) + "/" + std::to_string(a.prefix_length);
            if (!a.contains(*g)) {
                ctx.error(gf->mark(), gf->path,
                          format_ipv4(*g) + " is outside the port's subnet " + subnet +
                              ": a gateway must be directly reachable");
            } else if (*g == a.address) {
                ctx.error(gf->mark(), gf->path,
                          format_ipv4(*g) + " is the port's own address, not a next hop");
            } else if (a.prefix_length <= 30 &&
                       (*g == a.network() || *g == (a.network() | ~a.netmask()))) {
                ctx.error(gf->mark(), gf->path,
                          format_ipv4(*g) + " is the network or broadcast address of " + subnet);
            } else {
                port.gateway = *g;
            }
        }
    }
    if (auto mf = m.get("mac")) {
        if (auto mac = read_notation(ctx, *mf, parse_mac)) {
            if ((*mac)[0] & 0x01) {
                ctx.error(mf->mark(), mf->path,
                          in_quotes(mf->value.Scalar()) +
                              " is a multicast MAC (low bit of the first byte set); a port "
                              "needs a unicast one, e.g. 02:00:00:00:00:01");
            } else if (*mac == mac_address{}) {
                ctx.error(mf->mark(), mf->path, "the all-zero MAC is not a valid address");
            } else {
                port.mac = *mac;
            }
        }
    }
    // 64..16384: below 64 most PMDs refuse, above 16384 none accepts.
    take(m, "rx_descriptors", port.rx_descriptors,
         [&](const field& x) { return read_pow2_in<std::uint16_t>(ctx, x, 64, 16384); });
    take(m, "tx_descriptors", port.tx_descriptors,
         [&](const field& x) { return read_pow2_in<std::uint16_t>(ctx, x, 64, 16384); });
    static constexpr enum_name<checksum_offload> offloads[] = {
        {"auto", checksum_offload::automatic},
        {"on", checksum_offload::on},
        {"off", checksum_offload::off}};
    take(m, "checksum_offload", port.checksum,
         [&](const field& x) { return read_enum(ctx, x, offloads); });
}

// What checks in control: that depend on dataplane: values need to know: they
// are skipped when the value they depend on had a problem (already reported).
struct dataplane_status {
    bool port_clean = false;     // the port (uid default, MTU against block_size)
    bool max_files_clean = true; // limits.max_files (against max_sessions)
};

dataplane_status parse_dataplane(context& ctx, const field& f, dataplane_config& dp) {
    dataplane_status status;
    bool& port_clean = status.port_clean;
    map_reader m(ctx, f,
                 {"eal", "roles", "storage_threads", "ports", "mempool", "rings", "limits",
                  "idle_backoff_us", "idle_backoff_max_us", "flush_before_complete", "crypto",
                  "stats"});
    if (auto ef = m.require("eal")) {
        parse_eal(ctx, *ef, dp.eal);
    }
    const bool have_lcores = !dp.eal.lcore_ids.empty();
    dp.roles.rx = dp.roles.tx = dp.eal.main_lcore;
    if (auto rf = m.get("roles")) {
        map_reader r(ctx, *rf, {"rx", "tx"});
        for (auto [name, slot] : {std::pair{"rx", &dp.roles.rx}, std::pair{"tx", &dp.roles.tx}}) {
            auto lf = r.get(name);
            if (!lf) {
                continue;
            }
            auto v = read_int_in<unsigned>(ctx, *lf, 0, max_lcores - 1);
            if (v && have_lcores && !contains(dp.eal.lcore_ids, *v)) {
                ctx.error(lf->mark(), lf->path,
                          "lcore " + std::to_string(*v) + " is not in eal.lcores (" +
                              format_ids(dp.eal.lcore_ids) + ")");
            } else if (v) {
                *slot = *v;
            }
        }
    }
    take(m, "storage_threads", dp.storage_threads,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 16); });

    if (auto pf = m.require("ports")) {
        if (auto items = read_list(ctx, *pf)) {
            if (items->size() != 1) {
                ctx.error(pf->mark(), pf->path,
                          std::to_string(items->size()) +
                              " ports given; exactly one is supported for now");
            }
            if (!items->empty()) {
                dp.ports.resize(1);
                const auto before = ctx.count();
                parse_port(ctx, items->front(), dp.ports.front());
                port_clean = ctx.count() == before;
            }
        }
    }

    if (auto mf = m.get("mempool")) {
        map_reader mp(ctx, *mf, {"mbufs", "cache"});
        // 1023 is the smallest pool that still fills one 1024-descriptor RX
        // ring (less one); 4194303 = 2^22 - 1 is ~40 GB of jumbo buffers.
        constexpr std::int64_t min_mbufs = 1023;
        // RTE_MEMPOOL_CACHE_MAX_SIZE.
        constexpr std::int64_t max_cache = 512;
        // rte_mempool_create also refuses a cache above n / 1.5; with these
        // ranges no accepted pair can break that rule, so it needs no check
        // of its own (this assert keeps it so if a range changes).
        static_assert(max_cache * 3 <= min_mbufs * 2);
        take(mp, "mbufs", dp.mempool.mbufs, [&](const field& x) {
            return read_int_in<std::uint32_t>(ctx, x, min_mbufs, 4194303);
        });
        take(mp, "cache", dp.mempool.cache,
             [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 0, max_cache); });
    }
    if (auto rf = m.get("rings")) {
        map_reader r(ctx, *rf, {"control_to_dataplane", "dataplane_to_control", "storage"});
        for (auto [name, slot] : {std::pair{"control_to_dataplane", &dp.rings.control_to_dataplane},
                                  std::pair{"dataplane_to_control", &dp.rings.dataplane_to_control},
                                  std::pair{"storage", &dp.rings.storage}}) {
            take(r, name, *slot,
                 [&](const field& x) { return read_pow2_in<std::uint32_t>(ctx, x, 64, 1048576); });
        }
    }
    if (auto lf = m.get("limits")) {
        map_reader l(ctx, *lf, {"max_files", "max_blocks_per_file"});
        status.max_files_clean =
            take(l, "max_files", dp.limits.max_files,
                 [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 4096); }) ||
            !l.has("max_files");
        take(l, "max_blocks_per_file", dp.limits.max_blocks_per_file,
             [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 2147483647); });
    }
    take(m, "idle_backoff_us", dp.idle_backoff_us,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 0, 10000); });
    if (auto bf =
            take(m, "idle_backoff_max_us", dp.idle_backoff_max_us,
                 [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 100000); });
        bf && dp.idle_backoff_max_us < dp.idle_backoff_us) {
        ctx.error(bf->mark(), bf->path,
                  std::to_string(dp.idle_backoff_max_us) + " is less than idle_backoff_us (" +
                      std::to_string(dp.idle_backoff_us) + "): the pause only grows");
    }
    take(m, "flush_before_complete", dp.flush_before_complete,
         [&](const field& x) { return read_bool(ctx, x); });
    if (auto cf = m.get("crypto")) {
        map_reader c(ctx, *cf, {"backend", "cryptodev_device"});
        static constexpr enum_name<crypto_backend> backends[] = {
            {"openssl", crypto_backend::openssl}, {"cryptodev", crypto_backend::cryptodev}};
        auto bf = take(c, "backend", dp.crypto.backend,
                       [&](const field& x) { return read_enum(ctx, x, backends); });
        const bool backend_ok = bf || !c.has("backend");
        auto df = c.get("cryptodev_device");
        if (df) {
            if (auto s = read_nonempty(ctx, *df)) {
                auto kind = parse_device(*s);
                if (!kind) {
                    ctx.error(df->mark(), df->path, kind.error);
                } else if (*kind == device_kind::vdev && !s->starts_with("crypto_")) {
                    ctx.error(df->mark(), df->path,
                              in_quotes(s->substr(0, s->find(','))) +
                                  " is not a crypto device driver (virtual cryptodevs are "
                                  "crypto_*, e.g. crypto_aesni_gcm0)");
                } else if (bf && dp.crypto.backend == crypto_backend::openssl) {
                    ctx.error(df->mark(), df->path,
                              "is set, but crypto.backend is openssl, which uses no device "
                              "(set backend: cryptodev, or remove this)");
                } else {
                    dp.crypto.cryptodev_device = *s;
                }
            }
        } else if (bf && dp.crypto.backend == crypto_backend::openssl) {
            dp.crypto.cryptodev_device.clear(); // openssl uses no device
        }
        (void)backend_ok;
    }
    if (auto sf = m.get("stats")) {
        map_reader s(ctx, *sf, {"telemetry"});
        take(s, "telemetry", dp.stats.telemetry, [&](const field& x) { return read_bool(ctx, x); });
    }
    return status;
}

// ---------------------------------------------------------------------------
// control
// ---------------------------------------------------------------------------

// Bytes of an IPv4 packet carrying one FILESEG of `block` bytes, so that it
// can be held against the MTU: the dataplane does not fragment (a lost
// fragment would lose the whole block, and every receiver would NAK it).
// Layout (docs/protocol.md §1, §5.8; tests/unit/config checks these numbers
// against protocol/ and crypto/): IPv4 20 + UDP 8 + UFTP header 16 + FILESEG
// header 8 + block; encrypted, the FILESEG (header + block) is the
// plaintext of an ENCRYPTED message (UFTP header 16 + 12) with a signature
// and a 16-byte tag (GCM/CCM) or PKCS#7 padding (CBC).
constexpr std::size_t ip_udp_bytes = 28;
constexpr std::size_t uftp_header_bytes = 16;
constexpr std::size_t fileseg_header_bytes = 8;
constexpr std::size_t encrypted_prefix_bytes = uftp_header_bytes + 12;
constexpr std::size_t aead_tag_bytes = 16;
// A KEYEX signature is the sender's RSA or ECDSA signature; RSA keys are at
// most 2048 bits (256 bytes) in UFTP 4, larger than any ECDSA signature.
constexpr std::size_t max_keyex_signature_bytes = 256;

std::size_t hash_bytes(hash_kind h) {
    switch (h) {
    case hash_kind::sha1:
        return 20;
    case hash_kind::sha256:
        return 32;
    case hash_kind::sha384:
        return 48;
    case hash_kind::sha512:
        return 64;
    }
    return 64;
}

std::size_t fileseg_packet_bytes(std::size_t block, const sender_encryption_config& e) {
    const std::size_t plain = fileseg_header_bytes + block;
    if (!e.enabled()) {
        return ip_udp_bytes + uftp_header_bytes + plain;
    }
    if (is_aead(e.cipher)) {
        return ip_udp_bytes + encrypted_prefix_bytes + plain + aead_tag_bytes;
    }
    const std::size_t cipher_block = e.cipher == cipher_kind::des_ede3_cbc ? 8 : 16;
    const std::size_t padded = (plain / cipher_block + 1) * cipher_block; // PKCS#7 always pads
    const std::size_t signature =
        e.signature == signature_kind::keyex ? max_keyex_signature_bytes : hash_bytes(e.hash);
    return ip_udp_bytes + encrypted_prefix_bytes + signature + padded;
}

// A percentage ("5%", "1.5%") within 0..100, as a fraction.
std::optional<double> read_percent(context& ctx, const field& f) {
    std::string text = f.value.IsScalar() ? f.value.Scalar() : std::string();
    if (!f.value.IsScalar() || text.empty() || text.back() != '%') {
        ctx.error(f.mark(), f.path,
                  "expected a percentage such as \"5%\", got " +
                      (f.value.IsScalar() ? in_quotes(text) : describe_type(f.value)));
        return std::nullopt;
    }
    text.pop_back();
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(v >= 0) ||
        v > 100) {
        ctx.error(f.mark(), f.path, in_quotes(f.value.Scalar()) + " is not a percentage 0%..100%");
        return std::nullopt;
    }
    return v / 100.0;
}

// control.fec (sender): FEC parity for Skycast receivers (docs/protocol.md §17).
void parse_fec(context& ctx, const field& f, std::uint16_t port, fec_config& fec) {
    map_reader m(ctx, f,
                 {"group_blocks", "proactive", "expected_loss", "adaptive", "parity_port",
                  "interleave_mib", "repair_margin"});
    // The dataplane's parity table holds 2 bytes per group of at least 8
    // blocks (dataplane/api/contract.h); 253 leaves one parity index.
    auto k = m.get("group_blocks");
    if (!k) {
        ctx.error(f.mark(), f.path + ".group_blocks",
                  "required key is missing (data blocks per FEC group, 8..253; 64 is a good "
                  "start)");
    } else if (auto v = read_int_in<std::uint32_t>(ctx, *k, 8, 253)) {
        fec.group_blocks = *v;
    }
    take(m, "proactive", fec.proactive, [&](const field& x) { return read_percent(ctx, x); });
    take(m, "expected_loss", fec.expected_loss, [&](const field& x) -> std::optional<double> {
        auto v = read_percent(ctx, x);
        if (v && *v > 0.5) {
            ctx.error(x.mark(), x.path,
                      "must be at most 50% (the loss each receiver is expected to see)");
            return std::nullopt;
        }
        return v;
    });
    take(m, "adaptive", fec.adaptive, [&](const field& x) { return read_bool(ctx, x); });
    take(m, "repair_margin", fec.repair_margin,
         [&](const field& x) { return read_percent(ctx, x); });
    // At most the 64 MiB the dataplane keeps resident ahead of the TX
    // lcore (its service thread encodes a span's parity from all of it),
    // and a receiver keeps a span's parity until the span's data is in.
    take(m, "interleave_mib", fec.interleave_mib,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 0, 64); });
    if (auto pf = m.get("parity_port")) {
        if (auto v = read_int_in<std::uint16_t>(ctx, *pf, 1, 65535)) {
            if (*v == port) {
                ctx.error(pf->mark(), pf->path,
                          std::to_string(*v) + " is control.port: PARITY needs a port of its "
                                               "own, where stock receivers do not listen");
            } else {
                fec.parity_port = *v;
            }
        }
    }
    if (fec.parity_port == 0) {
        fec.parity_port = static_cast<std::uint16_t>(port + 1);
    }
}

// A PARITY datagram's headers beyond a FILESEG's (12 against 8 bytes).
constexpr std::size_t parity_extra_bytes = 4;

// Fields of control: that apply to one role only, and what they belong to.
constexpr std::string_view sender_only_keys[] = {
    "private_group",   "rate",       "block_size",  "grtt",          "robustness",
    "announce_rounds", "max_passes", "max_nak_pct", "max_nak_count", "clients",
    "proxies",         "fec",        "early_data",  "fast_start"};
constexpr std::string_view receiver_only_keys[] = {
    "destination", "temp_dir",         "servers", "max_sessions",  "max_grtt",
    "max_robust",  "register_timeout", "hooks",   "response_proxy"};
constexpr std::string_view sender_encryption_keys[] = {
    "keyex", "cipher", "hash", "signature", "private_key", "client_auth", "ecdh_curve"};
constexpr std::string_view receiver_encryption_keys[] = {"private_keys", "require"};

// ECDH curves config/ accepts by name: the ones stock clients support
// everywhere (OpenSSL short, SEC and NIST names). tests/unit/config checks
// that crypto/ knows each of them.
constexpr std::pair<std::string_view, std::string_view> ecdh_curve_names[] = {
    {"prime256v1", "prime256v1"}, {"secp256r1", "prime256v1"}, {"P-256", "prime256v1"},
    {"secp384r1", "secp384r1"},   {"P-384", "secp384r1"},      {"secp521r1", "secp521r1"},
    {"P-521", "secp521r1"}};

// An ECDH curve by any of the names above, as its OpenSSL short name.
std::optional<std::string> read_ecdh_curve(context& ctx, const field& x) {
    auto name = read_string(ctx, x);
    if (!name) {
        return std::nullopt;
    }
    for (auto [alias, canonical] : ecdh_curve_names) {
        if (*name == alias) {
            return std::string(canonical);
        }
    }
    ctx.error(x.mark(), x.path,
              in_quotes(*name) + " is not one of prime256v1 (P-256), secp384r1 (P-384), "
                                 "secp521r1 (P-521)");
    return std::nullopt;
}

// A response or client proxy's control.encryption: its own keys for the
// key exchanges of encrypted sessions (docs/protocol.md §7.1); the
// session's suite is the server's.
proxy_keys_config read_proxy_keys(context& ctx, const field& f) {
    map_reader e(ctx, f, {"private_key", "ecdh_curve"});
    proxy_keys_config keys;
    if (auto pf = e.require("private_key", "the proxy's PEM key (RSA, or EC for ecdh_ecdsa "
                                           "servers), of the servers' key type and size")) {
        if (auto path = read_absolute_path(ctx, *pf)) {
            keys.private_key = *path;
        }
    }
    take(e, "ecdh_curve", keys.ecdh_curve, [&](const field& x) { return read_ecdh_curve(ctx, x); });
    return keys;
}

template <std::size_t N>
void reject_role_keys(context& ctx, const map_reader& m, const std::string_view (&keys)[N],
                      std::string_view owner, std::string_view role) {
    for (auto key : keys) {
        if (auto f = m.get(key)) {
            ctx.error(f->key_mark, f->path,
                      "applies only to a " + std::string(owner) + " (control.role is " +
                          std::string(role) + ")");
        }
    }
}

// A list of {uid, fingerprint}. `own_uid` may not appear in it.
// control.heartbeats: {to: [server proxies], interval, private_key}.
heartbeat_config read_heartbeats(context& ctx, const field& f) {
    heartbeat_config h;
    map_reader m(ctx, f, {"to", "interval", "private_key"});
    if (auto tf = m.require("to")) {
        if (auto items = read_list(ctx, *tf)) {
            if (items->empty()) {
                ctx.error(tf->mark(), tf->path, "expected a list of server proxies' addresses");
            }
            for (const auto& item : *items) {
                if (auto a = read_notation(ctx, item, parse_ipv4)) {
                    if ((*a >> 28) == 0xE || *a == 0) {
                        ctx.error(item.mark(), item.path,
                                  format_ipv4(*a) + " is no unicast address");
                    } else {
                        h.to.push_back(*a);
                    }
                }
            }
        }
    }
    take(m, "interval", h.interval,
         [&](const field& x) { return read_duration_in(ctx, x, 1, 3600, "1s..3600s"); });
    take(m, "private_key", h.private_key,
         [&](const field& x) { return read_absolute_path(ctx, x); });
    return h;
}

std::vector<peer_config> parse_peers(context& ctx, const field& f, std::uint32_t own_uid) {
    std::vector<peer_config> peers;
    auto items = read_list(ctx, f);
    if (!items) {
        return peers;
    }
    std::map<std::uint32_t, int> seen; // uid -> line
    for (const auto& item : *items) {
        map_reader m(ctx, item, {"uid", "fingerprint"});
        if (!m.is_map()) {
            continue;
        }
        peer_config peer;
        bool uid_ok = false;
        if (auto uf = m.require("uid")) {
            // Straight into peer.uid: GCC 12 warns (wrongly) that an
            // optional<uint32_t> kept beside it may be uninitialised.
            if (auto uid = read_notation(ctx, *uf, parse_uid)) {
                peer.uid = *uid;
                uid_ok = true;
            }
            if (!uid_ok) {
                // reported by read_notation
            } else if (auto prev = seen.find(peer.uid); prev != seen.end()) {
                ctx.error(uf->mark(), uf->path,
                          format_uid(peer.uid) + " is listed twice (also at line " +
                              std::to_string(prev->second) + ")");
                uid_ok = false;
            } else if (peer.uid == own_uid) {
                ctx.error(uf->mark(), uf->path,
                          format_uid(peer.uid) + " is this node's own control.uid");
                uid_ok = false;
            } else {
                seen.emplace(peer.uid, uf->value.Mark().line + 1);
            }
        }
        take(m, "fingerprint", peer.fingerprint,
             [&](const field& x) { return read_notation(ctx, x, parse_fingerprint); });
        if (uid_ok) {
            peers.push_back(peer);
        }
    }
    return peers;
}

// True when `inner` is `outer` or lies below it (lexically: symlinks are the
// operator's business).
bool path_within(const std::string& inner, const std::string& outer) {
    namespace fs = std::filesystem;
    const fs::path in = fs::path(inner).lexically_normal();
    const fs::path out = fs::path(outer).lexically_normal();
    auto i = in.begin();
    for (auto o = out.begin(); o != out.end(); ++o, ++i) {
        if (o->empty()) {
            continue; // trailing separator
        }
        if (i == in.end() || *i != *o) {
            return false;
        }
    }
    return true;
}

void parse_sender_encryption(context& ctx, const map_reader& e, sender_encryption_config& enc,
                             std::vector<peer_config>& clients,
                             const std::optional<field>& clients_field) {
    static constexpr enum_name<keyex_kind> keyexes[] = {{"none", keyex_kind::none},
                                                        {"rsa", keyex_kind::rsa},
                                                        {"ecdh_rsa", keyex_kind::ecdh_rsa},
                                                        {"ecdh_ecdsa", keyex_kind::ecdh_ecdsa}};
    static constexpr enum_name<cipher_kind> ciphers[] = {
        {"3des", cipher_kind::des_ede3_cbc},     {"aes128-cbc", cipher_kind::aes128_cbc},
        {"aes256-cbc", cipher_kind::aes256_cbc}, {"aes128-gcm", cipher_kind::aes128_gcm},
        {"aes256-gcm", cipher_kind::aes256_gcm}, {"aes128-ccm", cipher_kind::aes128_ccm},
        {"aes256-ccm", cipher_kind::aes256_ccm}};
    static constexpr enum_name<hash_kind> hashes[] = {{"sha1", hash_kind::sha1},
                                                      {"sha256", hash_kind::sha256},
                                                      {"sha384", hash_kind::sha384},
                                                      {"sha512", hash_kind::sha512}};
    static constexpr enum_name<signature_kind> signatures[] = {{"hmac", signature_kind::hmac},
                                                               {"keyex", signature_kind::keyex}};

    auto kf =
        take(e, "keyex", enc.keyex, [&](const field& x) { return read_enum(ctx, x, keyexes); });
    const bool keyex_known = kf || !e.has("keyex");
    const bool encrypted = enc.keyex != keyex_kind::none;

    std::optional<field> cf;
    if (auto f = e.get("cipher")) {
        // Stock names a cipher "none" too; so do we, as the absence of one.
        if (f->value.IsScalar() && f->value.Scalar() == "none") {
            cf = f;
        } else if (f->value.IsScalar() && f->value.Scalar() == "des") {
            ctx.error(f->mark(), f->path,
                      "'des' (single DES) is refused: it is broken, and stock uftp cannot use "
                      "it with OpenSSL 3; use aes128-gcm or aes256-gcm");
        } else if (auto c = read_enum(ctx, *f, ciphers)) {
            enc.cipher = *c;
            cf = f;
        }
    }
    auto hf = e.get("hash");
    if (hf) {
        if (hf->value.IsScalar() && hf->value.Scalar() == "md5") {
            ctx.error(hf->mark(), hf->path,
                      "'md5' is refused (no stock option selects it); "
                      "use sha256");
            hf.reset();
        } else if (auto h = read_enum(ctx, *hf, hashes)) {
            enc.hash = *h;
        } else {
            hf.reset();
        }
    }
    auto sf = take(e, "signature", enc.signature,
                   [&](const field& x) { return read_enum(ctx, x, signatures); });
    auto pf = take(e, "private_key", enc.private_key,
                   [&](const field& x) { return read_absolute_path(ctx, x); });
    auto af =
        take(e, "client_auth", enc.client_auth, [&](const field& x) { return read_bool(ctx, x); });
    auto ecf = take(e, "ecdh_curve", enc.ecdh_curve,
                    [&](const field& x) { return read_ecdh_curve(ctx, x); });

    if (!keyex_known) {
        return; // every rule below depends on keyex
    }
    if (!encrypted) {
        // An unencrypted session: anything that only means something with
        // encryption is a contradiction, not a harmless extra.
        const std::pair<const std::optional<field>*, bool> extras[] = {
            {&cf, cf && enc.cipher != cipher_kind::none},
            {&hf, hf.has_value()},
            {&sf, sf.has_value()},
            {&pf, pf.has_value()},
            {&af, af && enc.client_auth},
            {&ecf, ecf.has_value()}};
        for (auto [f, present] : extras) {
            if (present) {
                ctx.error((*f)->mark(), (*f)->path,
                          "is set, but encryption.keyex is none (an unencrypted session): set "
                          "keyex, or remove this");
            }
        }
        enc.cipher = cipher_kind::none;
        enc.signature = signature_kind::none;
        enc.client_auth = false;
        enc.private_key.clear();
        enc.ecdh_curve.clear();
        return;
    }
    if (enc.cipher == cipher_kind::none) {
        if (cf) {
            ctx.error(cf->mark(), cf->path,
                      "is none, but keyex is set: an encrypted session needs a cipher (e.g. "
                      "aes256-gcm)");
        } else if (!e.has("cipher")) {
            e.require("cipher", "an encrypted session needs one, e.g. aes256-gcm");
        }
    }
    if (!e.has("private_key")) {
        e.require("private_key", "the sender's PEM key for the key exchange; "
                                 "`skycast keys generate` makes one");
    }
    if (enc.keyex == keyex_kind::rsa) {
        if (ecf) {
            ctx.error(ecf->mark(), ecf->path,
                      "applies to keyex ecdh_rsa and ecdh_ecdsa only (rsa has no ECDH key)");
        }
        enc.ecdh_curve.clear();
    }
    if (is_aead(enc.cipher)) {
        if (sf) {
            ctx.error(sf->mark(), sf->path,
                      "applies to CBC ciphers only: GCM and CCM authenticate every packet with "
                      "their tag (remove this)");
        }
        enc.signature = signature_kind::authenc;
    } else if (enc.cipher != cipher_kind::none && !sf) {
        enc.signature = signature_kind::hmac; // stock's default (-w hmac)
    }
    if (enc.signature == signature_kind::keyex && !enc.client_auth && sf) {
        ctx.error(sf->mark(), sf->path,
                  "keyex signatures make every client authenticate with its key (as stock uftp "
                  "-w keyex does): set client_auth: true");
    }
    if (enc.client_auth) {
        const bool listed = clients_field && (!clients_field->value.IsSequence() ||
                                              clients_field->value.size() != 0);
        if (clients.empty() && !listed) {
            ctx.error(af->mark(), af->path,
                      "client authentication checks each client's key against its fingerprint: "
                      "list the clients (control.clients with uid and fingerprint)");
        }
    }
}

void parse_control(context& ctx, const field& f, const dataplane_config& dp,
                   const dataplane_status& dp_status, control_config& c) {
    const bool port_clean = dp_status.port_clean;
    map_reader m(ctx, f,
                 {"role",
                  "uid",
                  "eal",
                  "public_group",
                  "private_group",
                  "port",
                  "control_copies",
                  "copy_spacing",
                  "rate",
                  "block_size",
                  "grtt",
                  "early_data",
                  "fast_start",
                  "robustness",
                  "announce_rounds",
                  "max_passes",
                  "max_nak_pct",
                  "max_nak_count",
                  "clients",
                  "proxies",
                  "fec",
                  "servers",
                  "encryption",
                  "destination",
                  "temp_dir",
                  "max_sessions",
                  "max_grtt",
                  "max_robust",
                  "register_timeout",
                  "hooks",
                  "response_proxy",
                  "server_proxy",
                  "heartbeats",
                  "socket",
                  "metrics",
                  "snmp",
                  "log"});
    static constexpr enum_name<node_role> roles[] = {{"sender", node_role::sender},
                                                     {"receiver", node_role::receiver},
                                                     {"response_proxy", node_role::response_proxy},
                                                     {"server_proxy", node_role::server_proxy},
                                                     {"client_proxy", node_role::client_proxy}};
    std::optional<node_role> role;
    if (auto rf = m.require("role")) {
        role = read_enum(ctx, *rf, roles);
    }
    c.role = role.value_or(node_role::receiver);

    // Stock uftp's default UID is its interface's IPv4 address.
    if (port_clean) {
        c.uid = dp.ports.front().address.address;
    }
    take(m, "uid", c.uid, [&](const field& x) { return read_notation(ctx, x, parse_uid); });
    // Each control datagram sent this many times, back to back: on a lossy
    // link a round then rarely waits for a lost answer (docs/operations.md).
    take(m, "control_copies", c.control_copies,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 4); });
    // Spread in time, so that a fade does not take every copy: at most a
    // second (a round at GEO lasts about one; the engines also cap it at a
    // quarter of the session's GRTT).
    take(m, "copy_spacing", c.copy_spacing,
         [&](const field& x) { return read_duration_in(ctx, x, 0, 1, "0s..1s"); });

    if (auto ef = m.require("eal")) {
        map_reader e(ctx, *ef, {"lcores", "file_prefix"});
        if (auto lf = e.require("lcores")) {
            if (auto s = read_nonempty(ctx, *lf)) {
                c.eal.lcores = *s;
                if (auto ids = parse_lcore_list(*s); !ids) {
                    ctx.error(lf->mark(), lf->path, ids.error);
                } else {
                    c.eal.lcore_ids = *ids;
                    for (auto id : *ids) {
                        if (contains(dp.eal.lcore_ids, id)) {
                            ctx.error(lf->mark(), lf->path,
                                      "lcore " + std::to_string(id) +
                                          " is also in dataplane.eal.lcores: a secondary "
                                          "process needs lcore ids of its own (e.g. \"8@(0-1)\")");
                            break;
                        }
                    }
                }
            }
        }
        c.eal.file_prefix = dp.eal.file_prefix;
        if (auto pf = e.get("file_prefix")) {
            if (auto s = read_string(ctx, *pf);
                s && *s != dp.eal.file_prefix && !dp.eal.file_prefix.empty()) {
                ctx.error(pf->mark(), pf->path,
                          in_quotes(*s) + " differs from dataplane.eal.file_prefix " +
                              in_quotes(dp.eal.file_prefix) +
                              ": the control process attaches to the dataplane by it (leave it "
                              "out to use the dataplane's)");
            }
        }
    }

    auto read_group = [&](const field& x) -> std::optional<ipv4_address> {
        auto g = read_notation(ctx, x, parse_ipv4);
        if (!g) {
            return std::nullopt;
        }
        if (!is_multicast(*g)) {
            ctx.error(x.mark(), x.path,
                      format_ipv4(*g) + " is not a multicast address (224.0.0.0/4)");
            return std::nullopt;
        }
        if ((*g >> 8) == 0xE00000) {
            ctx.error(x.mark(), x.path,
                      format_ipv4(*g) + " is in 224.0.0.0/24, reserved for link-local "
                                        "protocols (routers and switches flood or drop it)");
            return std::nullopt;
        }
        return g;
    };
    take(m, "public_group", c.public_group, read_group);
    take(m, "port", c.port,
         [&](const field& x) { return read_int_in<std::uint16_t>(ctx, x, 1, 65535); });

    c.socket = "/run/skycast/" + c.eal.file_prefix + ".sock";
    if (auto sf = m.get("socket")) {
        if (auto s = read_absolute_path(ctx, *sf)) {
            // sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
            if (s->size() > 107) {
                ctx.error(sf->mark(), sf->path,
                          "is " + std::to_string(s->size()) +
                              " bytes; a Unix socket path holds at most 107");
            } else {
                c.socket = *s;
            }
        }
    }
    if (auto mf = m.get("metrics")) {
        map_reader mr(ctx, *mf, {"address", "port"});
        take(mr, "address", c.metrics.address,
             [&](const field& x) { return read_notation(ctx, x, parse_ipv4); });
        if (auto pf = mr.require("port")) {
            if (auto p = read_int_in<std::uint16_t>(ctx, *pf, 1, 65535)) {
                c.metrics.port = *p;
            }
        }
    }
    if (auto sf = m.get("snmp")) {
        map_reader sr(ctx, *sf, {"agentx_socket", "poll_interval"});
        take(sr, "agentx_socket", c.snmp.agentx_socket,
             [&](const field& x) -> std::optional<std::string> {
                 // net-snmp's transport syntax: a Unix socket path, or
                 // tcp:HOST:PORT for a master that listens on TCP.
                 auto s = read_nonempty(ctx, x);
                 if (s && s->front() != '/' && s->rfind("tcp:", 0) != 0 &&
                     s->rfind("unix:", 0) != 0) {
                     ctx.error(x.mark(), x.path,
                               in_quotes(*s) + " is neither an absolute path nor tcp:HOST:PORT");
                     return std::nullopt;
                 }
                 return s;
             });
        take(sr, "poll_interval", c.snmp.poll_interval,
             [&](const field& x) { return read_duration_in(ctx, x, 0.5, 300, "500ms..300s"); });
    }
    if (auto lf = m.get("log")) {
        map_reader l(ctx, *lf, {"level", "file"});
        static constexpr enum_name<log_level> levels[] = {{"error", log_level::error},
                                                          {"warn", log_level::warn},
                                                          {"info", log_level::info},
                                                          {"debug", log_level::debug}};
        take(l, "level", c.log.level, [&](const field& x) { return read_enum(ctx, x, levels); });
        take(l, "file", c.log.file, [&](const field& x) -> std::optional<std::string> {
            if (x.value.IsScalar() && x.value.Scalar() == "-") {
                return std::string("-");
            }
            return read_absolute_path(ctx, x);
        });
    }

    if (!role) {
        return; // which keys apply depends on the role
    }
    if (*role != node_role::server_proxy) {
        if (auto sf = m.get("server_proxy")) {
            ctx.error(sf->key_mark, sf->path,
                      std::string("applies to role server_proxy, not ") + role_name(*role));
        }
    }
    if (auto hf = m.get("heartbeats")) {
        if (*role != node_role::receiver && *role != node_role::client_proxy) {
            ctx.error(hf->key_mark, hf->path,
                      std::string("apply to roles receiver and client_proxy, not ") +
                          role_name(*role));
        } else {
            c.heartbeats = read_heartbeats(ctx, *hf);
        }
    }
    if (*role == node_role::client_proxy) {
        reject_role_keys(ctx, m, sender_only_keys, "sender", "client_proxy");
        reject_role_keys(ctx, m, receiver_only_keys, "receiver", "client_proxy");
        if (auto ef = m.get("encryption")) {
            c.proxy_keys = read_proxy_keys(ctx, *ef);
        }
        return;
    }
    if (*role == node_role::server_proxy) {
        // It forwards what servers send; it sends and keeps no file.
        reject_role_keys(ctx, m, sender_only_keys, "sender", "server_proxy");
        reject_role_keys(ctx, m, receiver_only_keys, "receiver", "server_proxy");
        if (auto ef = m.get("encryption")) {
            ctx.error(ef->key_mark, ef->path,
                      "a server proxy takes no part in key exchanges: it carries sealed "
                      "datagrams as they are (the client proxy terminates the key exchange)");
        }
        auto pf = m.require("server_proxy");
        if (!pf) {
            return;
        }
        map_reader pr(ctx, *pf, {"downstream", "downstream_port", "downstream_fingerprint"});
        auto& p = c.server_proxy.emplace();
        if (auto af = pr.get("downstream")) {
            if (auto a = read_notation(ctx, *af, parse_ipv4)) {
                if ((*a >> 28) == 0xE || *a == 0) {
                    ctx.error(af->mark(), af->path,
                              format_ipv4(*a) + " is no unicast address: the downstream is a "
                                                "client proxy's own address");
                } else {
                    p.downstream = *a;
                }
            }
        }
        take(pr, "downstream_port", p.downstream_port,
             [&](const field& x) { return read_int_in<std::uint16_t>(ctx, x, 1, 65535); });
        auto ff = pr.get("downstream_fingerprint");
        if (ff) {
            take(pr, "downstream_fingerprint", p.downstream_fingerprint,
                 [&](const field& x) { return read_notation(ctx, x, parse_fingerprint); });
        }
        const bool has_address = pr.get("downstream").has_value();
        if (has_address == ff.has_value()) {
            ctx.error(pf->mark(), pf->path,
                      has_address ? "has both downstream and downstream_fingerprint: the "
                                    "downstream is either fixed or learned from heartbeats"
                                  : "needs downstream (a client proxy's address) or "
                                    "downstream_fingerprint (learned from its heartbeats)");
        }
        return;
    }
    if (*role == node_role::response_proxy) {
        // It follows sessions it hears announced; it sends and keeps no file.
        reject_role_keys(ctx, m, sender_only_keys, "sender", "response_proxy");
        reject_role_keys(ctx, m, receiver_only_keys, "receiver", "response_proxy");
        if (auto ef = m.get("encryption")) {
            c.proxy_keys = read_proxy_keys(ctx, *ef);
        }
        return;
    }
    std::optional<map_reader> enc;
    if (auto ef = m.get("encryption")) {
        enc.emplace(ctx, *ef,
                    std::initializer_list<std::string_view>{
                        "keyex", "cipher", "hash", "signature", "private_key", "client_auth",
                        "ecdh_curve", "private_keys", "require"});
    }

    if (*role == node_role::receiver) {
        reject_role_keys(ctx, m, sender_only_keys, "sender", "receiver");
        if (enc) {
            // The sender alone chooses a session's suite (docs/protocol.md §5.1).
            reject_role_keys(ctx, *enc, sender_encryption_keys, "sender", "receiver");
        }
        auto& r = c.receiver.emplace();
        auto df = m.require("destination");
        if (df) {
            if (auto s = read_absolute_path(ctx, *df)) {
                r.destination = *s;
            }
        }
        if (auto tf = m.get("temp_dir")) {
            if (auto s = read_absolute_path(ctx, *tf)) {
                if (!r.destination.empty() && path_within(*s, r.destination)) {
                    ctx.error(tf->mark(), tf->path,
                              in_quotes(*s) + " is inside destination " + in_quotes(r.destination) +
                                  ": incomplete files would appear among the received ones");
                } else {
                    r.temp_dir = *s;
                }
            }
        }
        if (auto sf = m.get("servers")) {
            r.servers = parse_peers(ctx, *sf, c.uid);
        }
        // Every session may hold a file open, so there are never more
        // sessions than file slots: the default follows a smaller max_files.
        // 64: the dataplane's session key slots.
        r.max_sessions = std::min(r.max_sessions, dp.limits.max_files);
        if (auto sf =
                take(m, "max_sessions", r.max_sessions,
                     [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 64); });
            sf && dp_status.max_files_clean && r.max_sessions > dp.limits.max_files) {
            ctx.error(sf->mark(), sf->path,
                      std::to_string(r.max_sessions) +
                          " is more than dataplane.limits.max_files (" +
                          std::to_string(dp.limits.max_files) +
                          "): every session may hold a file open; raise limits.max_files or "
                          "lower max_sessions");
            r.max_sessions = dp.limits.max_files;
        }
        if (auto pf = m.get("response_proxy")) {
            map_reader pr(ctx, *pf, {"address", "port", "fingerprint"});
            receiver_config::response_proxy_config proxy;
            bool ok = false;
            if (auto af = pr.require("address")) {
                if (auto a = read_notation(ctx, *af, parse_ipv4)) {
                    proxy.address = *a;
                    ok = true;
                    if ((*a >> 28) == 0xE || *a == 0) {
                        ctx.error(af->mark(), af->path,
                                  format_ipv4(*a) + " is no unicast address: responses go "
                                                    "to the proxy's own address");
                        ok = false;
                    }
                }
            }
            take(pr, "port", proxy.port,
                 [&](const field& x) { return read_int_in<std::uint16_t>(ctx, x, 1, 65535); });
            take(pr, "fingerprint", proxy.fingerprint,
                 [&](const field& x) { return read_notation(ctx, x, parse_fingerprint); });
            if (ok) {
                r.response_proxy = proxy;
            }
        }
        // 15 s: stock's largest GRTT; 60 s: beyond any real path, and every
        // timer of a session scales with it.
        take(m, "max_grtt", r.max_grtt,
             [&](const field& x) { return read_duration_in(ctx, x, 0.01, 60, "10ms..60s"); });
        take(m, "max_robust", r.max_robust,
             [&](const field& x) { return read_int_in<std::uint8_t>(ctx, x, 1, 255); });
        take(m, "register_timeout", r.register_timeout,
             [&](const field& x) { return read_duration_in(ctx, x, 1, 3600, "1s..3600s"); });
        if (auto hf = m.get("hooks")) {
            map_reader h(ctx, *hf, {"file", "session", "timeout", "max_queued"});
            take(h, "file", r.hooks.file_command,
                 [&](const field& x) { return read_absolute_path(ctx, x); });
            take(h, "session", r.hooks.session_command,
                 [&](const field& x) { return read_absolute_path(ctx, x); });
            take(h, "timeout", r.hooks.timeout, [&](const field& x) {
                return read_duration_in(ctx, x, 0.1, 86400, "100ms..24h");
            });
            take(h, "max_queued", r.hooks.max_queued,
                 [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 1'000'000); });
        }
        if (enc) {
            take(*enc, "require", r.require_encryption,
                 [&](const field& x) { return read_bool(ctx, x); });
            if (auto kf = enc->get("private_keys")) {
                if (auto items = read_list(ctx, *kf)) {
                    for (const auto& item : *items) {
                        if (auto p = read_absolute_path(ctx, item)) {
                            r.private_keys.push_back(*p);
                        }
                    }
                }
            }
        }
        return;
    }

    reject_role_keys(ctx, m, receiver_only_keys, "receiver", "sender");
    if (enc) {
        reject_role_keys(ctx, *enc, receiver_encryption_keys, "receiver", "sender");
    }
    auto& s = c.sender.emplace();
    take(m, "private_group", s.private_group, read_group);
    // 10 kbit/s: far under any link this runs on; a 1300-byte block already
    // takes a second at it, and slower only means sessions that time out;
    // 400 Gbit/s: the fastest Ethernet port there is.
    if (auto rf = m.require("rate", "bits per second of wire time, e.g. 900M")) {
        if (auto r = read_notation(ctx, *rf, parse_rate)) {
            if (*r < 10'000 || *r > 400'000'000'000) {
                ctx.error(rf->mark(), rf->path,
                          in_quotes(rf->value.Scalar()) + " (" + std::to_string(*r) +
                              " bit/s) is out of range 10K..400G");
            } else {
                s.rate_bps = *r;
            }
        }
    }
    const auto before_sizes = ctx.count();
    auto bf = take(m, "block_size", s.block_size,
                   [&](const field& x) { return read_int_in<std::uint16_t>(ctx, x, 512, 8800); });
    bool sizes_clean = ctx.count() == before_sizes;
    if (auto gf = m.get("grtt")) {
        map_reader g(ctx, *gf, {"initial", "min", "max"});
        std::optional<field> fields[3];
        double* slots[3] = {&s.grtt.initial, &s.grtt.min, &s.grtt.max};
        const char* names[3] = {"initial", "min", "max"};
        bool all_ok = true;
        for (int i = 0; i < 3; ++i) {
            auto x = g.get(names[i]);
            if (!x) {
                continue;
            }
            // Plain numbers are seconds; a unit may be given ("500ms"). The
            // GRTT byte on the wire encodes 1 us .. 1000 s; stock uftp
            // accepts 0.001 .. 1000 s.
            if (auto d = read_duration_in(ctx, *x, 0.001, 1000, "1ms..1000s")) {
                *slots[i] = *d;
                fields[i] = x;
            } else {
                all_ok = false;
            }
        }
        if (all_ok && !(s.grtt.min <= s.grtt.initial && s.grtt.initial <= s.grtt.max)) {
            const field& at = fields[0] ? *fields[0] : (fields[1] ? *fields[1] : *fields[2]);
            ctx.error(at.mark(), at.path,
                      "grtt needs min <= initial <= max, got min " + seconds(s.grtt.min) +
                          ", initial " + seconds(s.grtt.initial) + ", max " + seconds(s.grtt.max));
        }
    }
    if (auto ef = m.get("early_data")) {
        if (ef->value.IsScalar() && ef->value.Scalar() == "off") {
            s.early_data.reset();
        } else if (auto d = read_duration_in(ctx, *ef, 0, 1, "0s..1s, or off")) {
            s.early_data = *d;
        }
    }
    // 10..50: what stock uftp -s accepts (docs/protocol.md §4.1); stock clients are
    // only tested inside it.
    take(m, "robustness", s.robustness,
         [&](const field& x) { return read_int_in<std::uint8_t>(ctx, x, 10, 50); });
    s.announce_rounds = s.robustness;
    take(m, "announce_rounds", s.announce_rounds,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 255); });
    take(m, "max_passes", s.max_passes,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 65535); });
    take(m, "max_nak_pct", s.max_nak_pct,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 0, 100); });
    take(m, "max_nak_count", s.max_nak_count,
         [&](const field& x) { return read_int_in<std::uint32_t>(ctx, x, 1, 65535); });
    auto clf = m.get("clients");
    if (clf) {
        s.clients = parse_peers(ctx, *clf, c.uid);
    }
    if (auto pf = m.get("proxies")) {
        s.proxies = parse_peers(ctx, *pf, c.uid);
        for (const auto& p : s.proxies) {
            const bool also_client =
                std::any_of(s.clients.begin(), s.clients.end(),
                            [&](const peer_config& k) { return k.uid == p.uid; });
            if (also_client) {
                ctx.error(pf->mark(), pf->path,
                          format_uid(p.uid) +
                              " is in control.clients too: a proxy registers others, "
                              "it receives nothing itself");
            }
        }
    }
    if (auto ff = m.get("fec")) {
        parse_fec(ctx, *ff, c.port, s.fec);
    }
    if (enc) {
        const auto before = ctx.count();
        parse_sender_encryption(ctx, *enc, s.encryption, s.clients, clf);
        sizes_clean = sizes_clean && ctx.count() == before;
    }
    if (auto ff = m.get("fast_start")) {
        if (auto v = read_bool(ctx, *ff)) {
            s.fast_start = *v;
            // Said plainly rather than ignored: an operator who asks for it
            // expects the announce round trip gone.
            const char* why = nullptr;
            if (*v && s.clients.empty()) {
                why = "needs a closed group (control.clients): the FILEINFO lists the hosts";
            } else if (*v && s.encryption.enabled()) {
                why = "does not work with encryption: KEYINFO needs each REGISTER's key exchange";
            } else if (*v && !s.proxies.empty()) {
                why = "does not work with control.proxies: a proxy's REGISTER names its clients";
            }
            if (why != nullptr) {
                ctx.error(ff->mark(), ff->path, why);
            }
        }
    }
    // Fingerprints against client authentication, client by client.
    if (clf && clf->value.IsSequence()) {
        for (std::size_t i = 0; i < clf->value.size(); ++i) {
            const Node item = clf->value[i];
            if (!item.IsMap()) {
                continue;
            }
            const std::string path = clf->path + "[" + std::to_string(i) + "]";
            const Node fp = item["fingerprint"];
            const bool has_fp = static_cast<bool>(fp);
            // A malformed fingerprint is already reported; say one thing at a time.
            const bool fp_valid =
                has_fp && fp.IsScalar() && parse_fingerprint(fp.Scalar()).value.has_value();
            if (s.encryption.client_auth && !has_fp) {
                ctx.error(item.Mark(), path + ".fingerprint",
                          "required key is missing (encryption.client_auth is true, so every "
                          "client's key is checked against its fingerprint)");
            } else if (!s.encryption.client_auth && fp_valid) {
                ctx.error(fp.Mark(), path + ".fingerprint",
                          "is never checked: stock clients prove their key only with "
                          "encryption.client_auth: true (set it, or remove this)");
            }
        }
    }
    // The packets must fit the port unfragmented.
    if (port_clean && sizes_clean) {
        const auto mtu = dp.ports.front().mtu;
        const auto bytes = fileseg_packet_bytes(s.block_size, s.encryption);
        if (bytes > mtu) {
            YAML::Mark at = bf ? bf->mark() : f.key_mark;
            std::string how = "unencrypted";
            if (s.encryption.enabled()) {
                how = "encrypted";
                if (s.encryption.signature == signature_kind::keyex) {
                    how += " with keyex signatures (up to 256 bytes with a 2048-bit RSA key)";
                } else if (s.encryption.signature == signature_kind::hmac) {
                    how += " with CBC and an HMAC";
                }
            }
            ctx.error(at, m.child("block_size"),
                      std::to_string(s.block_size) + "-byte blocks make " + std::to_string(bytes) +
                          "-byte IPv4 packets " + how + ", more than dataplane.ports[0].mtu " +
                          std::to_string(mtu) + " (the dataplane does not fragment): use at most " +
                          std::to_string(s.block_size - (bytes - mtu)) + " or a larger MTU");
        } else if (const auto parity = fileseg_packet_bytes(
                       static_cast<std::uint16_t>(s.block_size + parity_extra_bytes), s.encryption);
                   s.fec.group_blocks != 0 && parity > mtu) {
            // PARITY's header is 4 bytes longer than FILESEG's (docs/protocol.md
            // §17), which may also take a cipher block more of padding.
            YAML::Mark at = bf ? bf->mark() : f.key_mark;
            ctx.error(at, m.child("block_size"),
                      std::to_string(s.block_size) + "-byte blocks make " + std::to_string(parity) +
                          "-byte IPv4 PARITY packets (fec), more than dataplane.ports[0].mtu " +
                          std::to_string(mtu) + ": use smaller blocks or a larger MTU");
        }
    }
}

// Thrown by document_probe at the first node past max_yaml_nodes or
// max_yaml_depth, which stops yaml-cpp's parser there.
class yaml_limit final : public std::runtime_error {
public:
    yaml_limit(const YAML::Mark& m, const std::string& what) : std::runtime_error(what), mark(m) {}
    YAML::Mark mark;
};

// What yaml-cpp's parser reports for one document: where its root value
// starts and whether it is null. Used to walk the stream document by document
// with a bound, because YAML::LoadAll of yaml-cpp 0.7 loops forever, growing
// memory, on some malformed input (a line starting with ','): the parser
// keeps returning empty documents without consuming anything
// (jbeder/yaml-cpp#1040, fixed upstream by PR #1319, after 0.8).
//
// It also counts the document's nodes and nesting as the events come, and
// stops the parser (yaml_limit) past max_yaml_nodes or max_yaml_depth: before
// any node tree is built, and long before yaml-cpp's own recursion guard
// (DeepRecursion at depth 2000, whose stack use depends on the build, with
// the message "bad file"). yaml-cpp's scanner may still queue the tokens of
// the whole text first (an unclosed '[' may yet turn out a key): up to ~250
// bytes per byte of text, which max_config_bytes bounds.
class document_probe final : public YAML::EventHandler {
public:
    bool has_root = false;
    bool root_is_null = false;
    YAML::Mark root_mark;

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m, true); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m, false); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  const std::string&) override {
        node(m, false);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        open(m);
    }
    void OnSequenceEnd() override { --_depth; }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        open(m);
    }
    void OnMapEnd() override { --_depth; }

private:
    std::size_t _nodes = 0;
    std::size_t _depth = 0;

    void node(const YAML::Mark& m, bool null) {
        if (!has_root) {
            has_root = true;
            root_is_null = null;
            root_mark = m;
        }
        if (++_nodes > max_yaml_nodes) {
            throw yaml_limit(m, "more than " + std::to_string(max_yaml_nodes) +
                                    " YAML nodes (keys, values, list items) in the document; a "
                                    "node's file has a few hundred");
        }
    }
    void open(const YAML::Mark& m) {
        node(m, false);
        if (++_depth > max_yaml_depth) {
            throw yaml_limit(m, "lists and mappings nested more than " +
                                    std::to_string(max_yaml_depth) +
                                    " deep; a node's file needs 5 levels");
        }
    }
};

} // namespace

node_config parse_node_config(std::string_view text, std::string_view source_name) {
    context ctx{std::string(source_name)};
    if (text.size() > max_config_bytes) {
        throw config_error(
            config_errc::invalid,
            {config_issue{std::string(source_name), 0, 0, "",
                          std::to_string(text.size()) + " bytes, more than the " +
                              std::to_string(max_config_bytes) + "-byte limit of a config file"}});
    }
    const std::string yaml(text);
    // First the document structure, at most two documents deep (see
    // document_probe), then the first document as nodes.
    document_probe first;
    document_probe second;
    bool have_first = false;
    bool have_second = false;
    Node doc;
    try {
        std::istringstream stream(yaml);
        YAML::Parser parser(stream);
        have_first = parser.HandleNextDocument(first);
        have_second = have_first && parser.HandleNextDocument(second);
        if (have_first) {
            doc = YAML::Load(yaml);
        }
    } catch (const yaml_limit& e) {
        ctx.error(e.mark, "", e.what());
        throw config_error(config_errc::invalid, ctx.take());
    } catch (const YAML::DeepRecursion& e) {
        // Not reached while max_yaml_depth is far below yaml-cpp's guard;
        // kept so that the guard's exception never escapes.
        ctx.error(e.mark, "",
                  "lists and mappings nested too deep for the YAML parser (yaml-cpp: " + e.msg +
                      ")");
        throw config_error(config_errc::invalid, ctx.take());
    } catch (const YAML::Exception& e) {
        ctx.error(e.mark, "", "YAML syntax error: " + e.msg);
        throw config_error(config_errc::invalid, ctx.take());
    }
    if (!have_first) {
        ctx.error(YAML::Mark::null_mark(), "",
                  "the file is empty: expected the sections dataplane: and control:");
        throw config_error(config_errc::invalid, ctx.take());
    }
    if (doc.IsNull()) {
        // "~", or input yaml-cpp reads as nothing at all (a stray ',').
        ctx.error(first.root_mark, "",
                  "no YAML value starts here: expected a mapping with the sections dataplane: "
                  "and control:");
        throw config_error(config_errc::invalid, ctx.take());
    }
    if (have_second) {
        ctx.error(second.root_mark, "",
                  "a second YAML document ('---'): a node's file holds exactly one");
    }
    node_config cfg;
    cfg.source_file = std::string(source_name);
    try {
        const field root{doc, doc.Mark(), ""};
        map_reader top(ctx, root, {"dataplane", "control"});
        dataplane_status dp_status;
        if (auto df = top.require("dataplane")) {
            dp_status = parse_dataplane(ctx, *df, cfg.dataplane);
        }
        if (auto cf = top.require("control")) {
            parse_control(ctx, *cf, cfg.dataplane, dp_status, cfg.control);
        }
    } catch (const YAML::Exception& e) {
        // The readers check a node's type before they use it, so yaml-cpp
        // should never throw here; if it does, it is still a config error,
        // reported with whatever the loader found before.
        ctx.error(e.mark, "", "cannot read this YAML value: " + e.msg);
    }
    if (!ctx.clean()) {
        throw config_error(config_errc::invalid, ctx.take());
    }
    return cfg;
}

namespace {

// "is a FIFO": what a file that is not a regular file is, for messages.
std::string describe_file_type(mode_t mode) {
    if (S_ISDIR(mode)) {
        return "is a directory";
    }
    if (S_ISFIFO(mode)) {
        return "is a FIFO";
    }
    if (S_ISCHR(mode)) {
        return "is a character device";
    }
    if (S_ISBLK(mode)) {
        return "is a block device";
    }
    if (S_ISSOCK(mode)) {
        return "is a socket";
    }
    return "is not a regular file";
}

class fd_closer {
public:
    explicit fd_closer(int fd) : _fd(fd) {}
    fd_closer(const fd_closer&) = delete;
    fd_closer& operator=(const fd_closer&) = delete;
    ~fd_closer() { ::close(_fd); }

private:
    int _fd;
};

} // namespace

node_config load_node_config(const std::string& path) {
    auto refuse = [&](const std::string& why) {
        return config_error(config_errc::unreadable,
                            {config_issue{path, 0, 0, "", "cannot read: " + why}});
    };
    auto not_regular = [&](mode_t mode) {
        return refuse(describe_file_type(mode) + ", not a regular file");
    };
    // O_NONBLOCK: opening a FIFO without a writer (or a device that waits
    // for carrier) would block; whatever it is, fstat below refuses it.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        const int err = errno;
        struct stat st {};
        if (err == ENXIO && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
            throw not_regular(st.st_mode); // a Unix socket cannot be opened at all
        }
        throw refuse(std::strerror(err));
    }
    const fd_closer closer(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throw refuse(std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw not_regular(st.st_mode);
    }
    const std::string limit = std::to_string(max_config_bytes) + "-byte (" +
                              std::to_string(max_config_bytes >> 20) +
                              " MiB) limit of a config file";
    if (static_cast<std::uintmax_t>(st.st_size) > max_config_bytes) {
        throw refuse("is " + std::to_string(st.st_size) + " bytes, more than the " + limit +
                     " (a node's file is a few KiB)");
    }
    // At most one byte more than the cap, whatever st_size said: a file that
    // grows while it is read stops there.
    std::string text(max_config_bytes + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw refuse(std::strerror(errno));
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    if (got > max_config_bytes) {
        throw refuse("grew past the " + limit + " while it was read");
    }
    text.resize(got);
    return parse_node_config(text, path);
}

} // namespace skycast::config
