#include "control/dataplane_link/dataplane_stats.h"

#include <atomic>
#include <cstring>

namespace skycast::control {

nlohmann::json dataplane_document(const dataplane_link& link) {
    using json = nlohmann::json;
    const api::shared_view view = link.shared();
    const auto& h = view.header();
    json counters = json::object();
    for (std::uint32_t i = 0; i < h.counter_count; ++i) {
        counters[h.counters[i].name] = view.counter_total(i);
    }
    json lcores = json::array();
    for (std::uint32_t b = 0; b < h.lcore_blocks; ++b) {
        const auto& block = view.counters(b);
        json values = json::object();
        for (std::uint32_t i = 0; i < h.counter_count; ++i) {
            if (const auto v = std::atomic_ref<const std::uint64_t>(block.values[i])
                                   .load(std::memory_order_relaxed);
                v != 0) {
                values[h.counters[i].name] = v;
            }
        }
        lcores.push_back({{"role", block.role},
                          {"lcore", block.lcore == UINT32_MAX ? json(nullptr) : json(block.lcore)},
                          {"counters", values}});
    }
    const api::port_snapshot port = view.port();
    // What each counter counts travels with the values, so a client of the
    // socket (the SNMP subagent's skycastCounterHelp) needs no other request.
    json help = json::object();
    for (const auto& [name, text] : counter_help(link)) {
        help[name] = text;
    }
    return {{"pid", h.dataplane_pid},
            {"heartbeat", h.heartbeat.load()},
            {"counters", counters},
            {"counter_help", help},
            {"lcores", lcores},
            {"port",
             {{"ipackets", port.ipackets},
              {"opackets", port.opackets},
              {"ibytes", port.ibytes},
              {"obytes", port.obytes},
              {"imissed", port.imissed},
              {"ierrors", port.ierrors},
              {"oerrors", port.oerrors},
              {"rx_nombuf", port.rx_nombuf}}}};
}

std::map<std::string, std::string> counter_help(const dataplane_link& link) {
    const auto& h = link.shared().header();
    std::map<std::string, std::string> help;
    for (std::uint32_t i = 0; i < h.counter_count && i < api::max_counters; ++i) {
        // Written by the dataplane at start; bounded copies, never past the arrays.
        help[std::string(h.counters[i].name,
                         strnlen(h.counters[i].name, api::counter_name_bytes))] =
            std::string(h.counters[i].help, strnlen(h.counters[i].help, api::counter_help_bytes));
    }
    return help;
}

} // namespace skycast::control
