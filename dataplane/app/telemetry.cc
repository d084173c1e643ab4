#include "dataplane/app/telemetry.h"

#include <atomic>
#include <rte_telemetry.h>

namespace skycast::dataplane {
namespace {

// DPDK telemetry callbacks take no context pointer, hence one global.
std::atomic<void*> registered_base{nullptr};
bool commands_registered = false;

// Telemetry names allow only alphanumerics, '_' and '/': "rx.drop.too_short"
// is published as "rx_drop_too_short".
struct telemetry_name {
    explicit telemetry_name(const char* name) {
        std::size_t i = 0;
        for (; name[i] != '\0' && i + 1 < sizeof text; ++i) {
            text[i] = name[i] == '.' ? '_' : name[i];
        }
        text[i] = '\0';
    }
    char text[api::counter_name_bytes];
};

// One dictionary entry per counter, keyed by its telemetry name; `add`
// writes the value (the total, or the help text).
template <typename AddEntry>
int counter_dict(rte_tel_data* out, AddEntry add) {
    void* base = registered_base.load();
    if (base == nullptr) {
        return -1;
    }
    const api::shared_view view(base);
    rte_tel_data_start_dict(out);
    for (std::uint32_t i = 0; i < view.header().counter_count; ++i) {
        add(telemetry_name(view.header().counters[i].name).text, view, i);
    }
    return 0;
}

int counters_command(const char*, const char*, rte_tel_data* out) {
    return counter_dict(out, [out](const char* key, const api::shared_view& view, std::uint32_t i) {
        rte_tel_data_add_dict_u64(out, key, view.counter_total(i));
    });
}

int help_command(const char*, const char*, rte_tel_data* out) {
    return counter_dict(out, [out](const char* key, const api::shared_view& view, std::uint32_t i) {
        rte_tel_data_add_dict_string(out, key, view.header().counters[i].help);
    });
}

} // namespace

void register_telemetry(api::shared_view view) {
    registered_base.store(&view.header());
    if (!commands_registered) {
        commands_registered = true;
        rte_telemetry_register_cmd("/skycast/counters", counters_command,
                                   "Every dataplane counter, summed over lcores. No parameters.");
        rte_telemetry_register_cmd("/skycast/counter_help", help_command,
                                   "What a non-zero value of each counter means. No parameters.");
    }
}

void unregister_telemetry() {
    registered_base.store(nullptr);
}

} // namespace skycast::dataplane
