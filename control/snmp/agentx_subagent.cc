#include "control/snmp/agentx_subagent.h"

// net-snmp's headers must come in this order (config first).
// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
// clang-format on

#include <cstdlib>
#include <sys/select.h>

namespace skycast::control::snmp {

namespace {

constexpr const char* app_name = "skycast-snmp";

// snmpTrapOID.0 (SNMPv2-MIB): the first varbind of every notification.
const oid snmp_trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};

std::vector<oid> to_oid(const oid_path& p) {
    return {p.begin(), p.end()};
}

// net-snmp's sub-identifiers are unsigned long; ours 32-bit. A request for
// a larger one is past anything we hold: saturate, which keeps the order.
oid_path to_path(const oid* name, std::size_t length) {
    oid_path p;
    p.reserve(length);
    for (std::size_t i = 0; i < length; ++i) {
        p.push_back(name[i] > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(name[i]));
    }
    return p;
}

void set_value(netsnmp_variable_list* vb, const mib_value& v) {
    switch (v.type) {
    case mib_type::integer: {
        const long n = static_cast<long>(v.number);
        snmp_set_var_typed_value(vb, ASN_INTEGER, &n, sizeof n);
        break;
    }
    case mib_type::gauge32: {
        const u_long n = static_cast<u_long>(v.number);
        snmp_set_var_typed_value(vb, ASN_GAUGE, &n, sizeof n);
        break;
    }
    case mib_type::counter64: {
        counter64 c{};
        c.high = static_cast<u_long>(v.number >> 32);
        c.low = static_cast<u_long>(v.number & 0xFFFFFFFFu);
        snmp_set_var_typed_value(vb, ASN_COUNTER64, &c, sizeof c);
        break;
    }
    case mib_type::text:
        snmp_set_var_typed_value(vb, ASN_OCTET_STR, v.text.data(), v.text.size());
        break;
    }
}

} // namespace

// The one handler of the registration: every instance of the module.
struct agentx_handler {
    static int handle(netsnmp_mib_handler* handler, netsnmp_handler_registration*,
                      netsnmp_agent_request_info* reqinfo, netsnmp_request_info* requests) {
        const auto* self = static_cast<const agentx_subagent*>(handler->myvoid);
        for (netsnmp_request_info* r = requests; r != nullptr; r = r->next) {
            if (r->processed != 0) {
                continue;
            }
            netsnmp_variable_list* vb = r->requestvb;
            const oid_path asked = to_path(vb->name, vb->name_length);
            switch (reqinfo->mode) {
            case MODE_GET:
                if (const auto* e = find_exact(self->_view, asked)) {
                    set_value(vb, e->second);
                } else {
                    netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
                }
                break;
            case MODE_GETNEXT:
                // Nothing after it in our subtree: leave the varbind alone
                // and the agent goes on to the next registration.
                if (const auto* e = find_next(self->_view, asked, r->inclusive != 0)) {
                    const auto name = to_oid(e->first);
                    snmp_set_var_objid(vb, name.data(), name.size());
                    set_value(vb, e->second);
                }
                break;
            default:
                netsnmp_set_request_error(reqinfo, r, SNMP_ERR_NOTWRITABLE);
                break;
            }
        }
        return SNMP_ERR_NOERROR;
    }
};

std::unique_ptr<agentx_subagent> agentx_subagent::start(const std::string& master,
                                                        std::chrono::seconds reconnect) {
    std::unique_ptr<agentx_subagent> self(new agentx_subagent());
    // No MIB files: the agent answers by number, and a host without the
    // IETF modules (Debian ships none) would only print warnings.
    ::setenv("MIBS", "", 0);
    snmp_enable_stderrlog();
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
    netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, master.c_str());
    netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
                       static_cast<int>(reconnect.count()));
    // Configuration comes from the node's YAML, not from snmp .conf files,
    // and nothing is persisted under /var/lib/snmp.
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    init_agent(app_name);

    const auto root = to_oid([] {
        oid_path p = skycast_mib;
        p.push_back(1); // skycastObjects
        return p;
    }());
    netsnmp_handler_registration* reg = netsnmp_create_handler_registration(
        "skycastObjects", &agentx_handler::handle, root.data(), root.size(), HANDLER_CAN_RONLY);
    reg->handler->myvoid = self.get();
    netsnmp_register_handler(reg);

    init_snmp(app_name);
    return self;
}

agentx_subagent::~agentx_subagent() {
    snmp_shutdown(app_name);
}

void agentx_subagent::notify(const node_event& event, const std::string& node_id) {
    netsnmp_variable_list* vars = nullptr;
    const auto kind = to_oid(notification_oid(event.kind));
    snmp_varlist_add_variable(&vars, snmp_trap_oid, OID_LENGTH(snmp_trap_oid), ASN_OBJECT_ID,
                              kind.data(), kind.size() * sizeof(oid));
    auto add_text = [&](const oid_path& where, const std::string& text) {
        const auto name = to_oid(where);
        const std::string value = snmp_text(text);
        snmp_varlist_add_variable(&vars, name.data(), name.size(), ASN_OCTET_STR, value.data(),
                                  value.size());
    };
    add_text(node_id_oid(), node_id);
    for (const auto& [object, text] : event.objects) {
        add_text(notify_object_oid(object), text);
    }
    send_v2trap(vars);
    snmp_free_varbind(vars);
    ++_sent;
}

void agentx_subagent::process(std::chrono::milliseconds timeout) {
    int fds = 0;
    int block = 0;
    fd_set readable;
    FD_ZERO(&readable);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    // Shortens tv to net-snmp's next timer, and adds its sockets.
    snmp_select_info(&fds, &readable, &tv, &block);
    const int n = ::select(fds, &readable, nullptr, nullptr, &tv);
    if (n > 0) {
        snmp_read(&readable);
    } else if (n == 0) {
        snmp_timeout();
    }
    run_alarms();
    netsnmp_check_outstanding_agent_requests();
}

} // namespace skycast::control::snmp
